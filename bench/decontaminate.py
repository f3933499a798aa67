"""Decontamination on ESConv: how many quotes of the test split with a word or two changed
are caught by the 13-word n-grams alone and with the near-turn check, how many train and
valid dialogues (other conversations) each drops against the test split, and the cost.

    python bench/decontaminate.py --shared ../shared/data

A planted dialogue is a train dialogue with one turn replaced by a test turn of 15 words or
more (the near-turn check's floor) with one or two of its words, at random places, replaced
by a word ESConv does not use.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import time
from pathlib import Path

from factory.dataset.decontaminate import NEAR_MIN_WORDS, Decontaminator
from factory.importers.esconv import import_esconv
from factory.models import Dialogue


def planted(
    hosts: list[Dialogue], quotes: list[str], changes: int, rng: random.Random
) -> list[Dialogue]:
    out = []
    for n, quote in enumerate(quotes):
        words = quote.split()
        for at in rng.sample(range(len(words)), changes):
            words[at] = "zorblax"
        host = hosts[n % len(hosts)]
        turns = list(host.turns)
        spot = rng.randrange(len(turns))
        turns[spot] = turns[spot].model_copy(update={"text": " ".join(words)})
        out.append(host.model_copy(update={"id": f"planted-{changes}-{n}", "turns": turns}))
    return out


def dropped(check: Decontaminator, dialogues: list[Dialogue]) -> int:
    return sum(
        v is not None
        for at in range(0, len(dialogues), 1000)
        for v in check.check(dialogues[at : at + 1000])
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("--quotes", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"# {platform.machine()} {os.cpu_count()} cpus, python {platform.python_version()}")
    esconv = args.shared / "esconv"
    test_file = esconv / "esconv_test.jsonl"
    test, _ = import_esconv([test_file])
    others, _ = import_esconv([esconv / "esconv_train.jsonl", esconv / "esconv_valid.jsonl"])
    rng = random.Random(args.seed)
    long_turns = [t.text for d in test for t in d.turns if len(t.text.split()) >= NEAR_MIN_WORDS]
    quotes = rng.sample(long_turns, min(args.quotes, len(long_turns)))
    sets = {changes: planted(others, quotes, changes, rng) for changes in (1, 2)}
    print(f"{len(quotes)} test turns of {NEAR_MIN_WORDS}+ words quoted with 1 or 2 words changed;")
    print(f"{len(others)} train + valid dialogues as the other conversations\n")
    print(f"{'check':<26}{'1 changed':>10}{'2 changed':>10}{'others dropped':>16}{'s/1000':>8}")
    for near in (False, True):
        check = Decontaminator([test_file], near_turns=near)
        caught = {c: dropped(check, d) / len(d) for c, d in sets.items()}
        began = time.perf_counter()
        false = dropped(check, others)
        per = (time.perf_counter() - began) / len(others) * 1000
        name = "13-word n-grams + near turns" if near else "13-word n-grams"
        print(
            f"{name:<26}{caught[1]:>10.3f}{caught[2]:>10.3f}"
            f"{f'{false}/{len(others)}':>16}{per:>8.2f}"
        )


if __name__ == "__main__":
    main()
