"""Curation filters measured: the default recipe on real ESConv and on FailedESConv (per
filter), the share of planted defects each filter catches, and the speed of exact + MinHash
dedup on 100,000 dialogues.

    python bench/filters.py --shared ../shared/data --dedup-n 100000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import tempfile
import time
from collections import Counter
from pathlib import Path

from factory.filters import FILTERS
from factory.filters.emotion_consistency import emotion_families
from factory.filters.exact_dedup import ExactDedupFilter
from factory.filters.minhash_dedup import MinHashDedupFilter
from factory.filters.pipeline import run_recipe
from factory.filters.recipe import load_recipe
from factory.importers.esconv import import_esconv
from factory.models import Dialogue


def write(dialogues: list[Dialogue], path: Path) -> Path:
    path.write_text("".join(d.model_dump_json() + "\n" for d in dialogues))
    return path


def real_data(shared: Path, tmp: Path) -> list[Dialogue]:
    """Runs the default recipe on ESConv and FailedESConv; returns the ESConv dialogues it kept."""
    esconv, _ = import_esconv(
        [shared / "esconv" / f"esconv_{s}.jsonl" for s in ("train", "valid", "test")]
    )
    failed, _ = import_esconv([shared / "esconv" / "FailedESConv.json"])
    print("## default recipe on real data (share kept after each filter)")
    reports = {
        name: run_recipe(
            write(rows, tmp / f"{name}.jsonl"), load_recipe("default"), tmp / f"out-{name}"
        )
        for name, rows in (("ESConv", esconv), ("FailedESConv", failed))
    }
    print(f"{'filter':<22}" + "".join(f"{name:>24}" for name in reports))
    for index, step in enumerate(reports["ESConv"].funnel):
        cells = []
        for report in reports.values():
            s = report.funnel[index]
            cells.append(
                f"{s.kept:>6}/{report.read:<5} {100 * s.kept / report.read:5.1f}%  -{s.dropped:<3}"
            )
        print(f"{step.filter:<22}" + "".join(f"{c:>24}" for c in cells))
    for name, report in reports.items():
        print(
            f"{name}: kept {report.kept} of {report.read} ({100 * report.kept / report.read:.1f}%)"
        )
    kept = (tmp / "out-ESConv" / "kept.jsonl").read_text().splitlines()
    return [Dialogue.model_validate_json(line).model_copy(update={"verdicts": []}) for line in kept]


def planted(esconv: list[Dialogue], n: int, seed: int) -> None:
    """Copies of real dialogues with one defect each; which filter drops them first."""
    rng = random.Random(seed)
    base = [d for d in esconv if len(d.turns) >= 8][: n * 2]
    clean = base[:n]

    def edit(d: Dialogue, turns: list, suffix: str) -> Dialogue:
        return d.model_copy(update={"id": d.id + suffix, "turns": turns})

    def near_copy(d: Dialogue, k: int) -> Dialogue:
        turns = [t.model_copy() for t in d.turns]
        for _ in range(k):
            i = rng.randrange(len(turns))
            words = turns[i].text.split()
            if words:
                words[rng.randrange(len(words))] = rng.choice(["really", "maybe", "just", "very"])
            turns[i] = turns[i].model_copy(update={"text": " ".join(words)})
        return edit(d, turns, "-near")

    def leak(d: Dialogue) -> Dialogue:
        turns = list(d.turns)
        i = next(i for i, t in enumerate(turns) if t.role == "supporter")
        turns[i] = turns[i].model_copy(
            update={"text": "As an AI language model, I understand. " + turns[i].text}
        )
        return edit(d, turns, "-leak")

    def truncate(d: Dialogue) -> Dialogue:
        turns = list(d.turns)
        words = turns[-1].text.split()
        turns[-1] = turns[-1].model_copy(
            update={"text": " ".join(words[: max(2, len(words) // 2)]) + " and"}
        )
        return edit(d, turns, "-trunc")

    def loop(d: Dialogue) -> Dialogue:
        turns = list(d.turns)
        line = "I'm so sorry to hear that, I am here for you."
        turns = [t.model_copy(update={"text": line}) if t.role == "supporter" else t for t in turns]
        return edit(d, turns, "-loop")

    def damage(d: Dialogue) -> Dialogue:
        # What splitting on every full stop and rejoining with spaces did to real text.
        turns = list(d.turns)
        i = next(i for i, t in enumerate(turns) if t.role == "supporter")
        damaged = turns[i].text + " It costs about 3. 5 dollars, e. g. at www. example. org."
        turns[i] = turns[i].model_copy(update={"text": damaged})
        return edit(d, turns, "-damaged")

    families = emotion_families()

    def swap_emotion(d: Dialogue) -> Dialogue:
        own = families.get(d.scenario.emotion_type)
        other = sorted(e for e, f in families.items() if f != own)
        scenario = d.scenario.model_copy(update={"emotion_type": rng.choice(other)})
        return d.model_copy(update={"id": d.id + "-swap", "scenario": scenario})

    defects = {
        "exact copy": [edit(d, list(d.turns), "-copy") for d in clean],
        "near copy (3 words changed)": [near_copy(d, 3) for d in clean],
        "near copy (10 words changed)": [near_copy(d, 10) for d in clean],
        "role leakage": [leak(d) for d in clean],
        "truncated ending": [truncate(d) for d in clean],
        "utterance loop": [loop(d) for d in clean],
        "split and rejoined text": [damage(d) for d in clean],
        "emotion from another family": [swap_emotion(d) for d in clean],
    }
    # A swapped emotion leaves the text as it was: run those without their originals, or
    # exact dedup would take them first.
    alone = {"emotion from another family"}
    print(f"\n## planted defects ({n} each, on ESConv dialogues the default recipe keeps)")
    print("(the emotion weights were fitted on ESConv train, which most of these come from;")
    print(" bench/emotion_consistency.py gives held-out numbers)")
    with tempfile.TemporaryDirectory() as tmp:
        for label, rows in defects.items():
            # The originals go first so that copies have something to duplicate.
            source = write(rows if label in alone else [*clean, *rows], Path(tmp) / "in.jsonl")
            report = run_recipe(source, load_recipe("default"), Path(tmp) / "out")
            kept_ids = {
                json.loads(line)["id"]
                for line in (Path(tmp) / "out" / "kept.jsonl").read_text().splitlines()
            }
            caught = sum(d.id not in kept_ids for d in rows)
            by = Counter()
            for step in report.funnel:
                by.update({f"{step.filter}:{r}": c for r, c in step.drop_reasons.items()})
            print(
                f"{label:<30} caught {caught}/{len(rows)} ({100 * caught / len(rows):.0f}%)  by {dict(by.most_common(3))}"
            )


def dedup_speed(esconv: list[Dialogue], n: int, seed: int) -> None:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        d = esconv[i % len(esconv)]
        turns = list(d.turns)
        j = rng.randrange(len(turns))  # a changed word keeps each copy distinct for exact dedup
        turns[j] = turns[j].model_copy(update={"text": turns[j].text + f" w{i}"})
        rows.append(d.model_copy(update={"id": f"{d.id}-{i}", "turns": turns}))
    print(
        f"\n## exact + MinHash dedup of {n} dialogues (ESConv-sized; every one a near copy of one of 1,300)"
    )
    exact, minhash = ExactDedupFilter(), MinHashDedupFilter()
    began = time.perf_counter()
    survivors = [o.dialogue for o in exact.check_batch(rows) if o.verdict.keep]
    middle = time.perf_counter()
    kept = sum(o.verdict.keep for o in minhash.check_batch(survivors))
    end = time.perf_counter()
    print(
        f"exact: {middle - began:.1f}s ({len(survivors)} left); minhash: {end - middle:.1f}s ({kept} left); total {end - began:.1f}s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("--planted", type=int, default=200)
    parser.add_argument("--dedup-n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    print(
        f"# {platform.machine()} {os.cpu_count()} cpus, python {platform.python_version()}; filters: {', '.join(FILTERS)}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        esconv = real_data(args.shared, Path(tmp))
    planted(esconv, args.planted, args.seed)
    if args.dedup_n:
        dedup_speed(esconv, args.dedup_n, args.seed)


if __name__ == "__main__":
    main()
