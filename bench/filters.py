"""Curation filters measured: the default recipe on real ESConv and on FailedESConv (per
filter), the share of planted defects each filter catches, and the speed of exact + MinHash
dedup on 100,000 dialogues.

    python bench/filters.py --shared ../shared/data --dedup-n 100000
"""

# ruff: noqa: RUF001 (the other-language lines use letters that look Latin)

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

# Supporter lines in other languages, written for this benchmark (the tests plant others).
OTHER_LANGUAGE = [
    "Entiendo perfectamente, a veces el trabajo nos quita toda la energía.",
    "¿Qué te gustaría hacer este fin de semana para relajarte un poco?",
    "Tienes derecho a sentirte así, nadie debería tratarte de esa manera.",
    "Est-ce que tu as pu en parler avec ta famille ou tes amis?",
    "Je pense que tu mérites de prendre un peu de temps pour toi.",
    "Ça doit être vraiment épuisant de vivre avec cette inquiétude tous les jours.",
    "Ich glaube, du solltest mit jemandem darüber reden, dem du vertraust.",
    "Es ist ganz normal, nach einer Trennung traurig zu sein.",
    "Forse potresti scrivere quello che provi in un diario ogni sera.",
    "Non sei da solo, molte persone passano momenti come questo.",
    "Talvez seja uma boa ideia conversar com seu chefe sobre isso.",
    "Het klinkt alsof je al heel lang alles alleen draagt.",
    "Może warto porozmawiać o tym z kimś bliskim jeszcze dziś wieczorem.",
    "Belki bu konuda bir uzmandan destek almayı düşünebilirsin.",
    "Kamu tidak sendirian, banyak orang merasakan hal yang sama.",
    "Det är helt förståeligt att du känner dig orolig inför framtiden.",
    "我觉得你已经很努力了，给自己一点休息的时间吧。",
    "你最近睡得怎么样？有没有好好吃饭？",
    "そのことについて、誰かに相談したことはありますか？",
    "Ты не виноват в том, что произошло, постарайся быть к себе добрее.",
    "Вы уже говорили об этом с кем-нибудь из близких?",
    "혼자서 모든 걸 감당하려고 하지 않아도 괜찮아요.",
    "Είναι φυσιολογικό να νιώθεις έτσι μετά από όλα αυτά.",
    "أنا أفهم شعورك، هذا الوضع صعب جدا.",
]


def write(dialogues: list[Dialogue], path: Path) -> Path:
    path.write_text("".join(d.model_dump_json() + "\n" for d in dialogues))
    return path


def real_data(shared: Path, tmp: Path) -> list[Dialogue]:
    """Runs the default recipe on ESConv (valid + test, the issue's measure; and all 1,300) and
    on FailedESConv; returns the dialogues of all of ESConv that it kept."""
    split = {
        s: import_esconv([shared / "esconv" / f"esconv_{s}.jsonl"])[0]
        for s in ("train", "valid", "test")
    }
    failed, _ = import_esconv([shared / "esconv" / "FailedESConv.json"])
    print("## default recipe on real data (share kept after each filter)")
    sets = (
        ("ESConv valid+test", split["valid"] + split["test"]),
        ("ESConv", split["train"] + split["valid"] + split["test"]),
        ("FailedESConv", failed),
    )
    reports = {
        name: run_recipe(
            write(rows, tmp / f"{index}.jsonl"), load_recipe("default"), tmp / f"out-{index}"
        )
        for index, (name, rows) in enumerate(sets)
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
        for step in report.funnel:
            if step.drop_reasons:
                print(f"  {step.filter}: {dict(step.drop_reasons)}")
    kept = (tmp / "out-1" / "kept.jsonl").read_text().splitlines()
    return [Dialogue.model_validate_json(line).model_copy(update={"verdicts": []}) for line in kept]


def planted(esconv: list[Dialogue], n: int, seed: int, only: list[str] | None = None) -> None:
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

    def other_language(d: Dialogue, k: int) -> Dialogue:
        # k of the supporter's turns (past its greeting) in another language.
        turns = list(d.turns)
        spots = [i for i, t in enumerate(turns) if t.role == "supporter"][1:]
        for i in rng.sample(spots, min(k, len(spots))):
            turns[i] = turns[i].model_copy(update={"text": rng.choice(OTHER_LANGUAGE)})
        return edit(d, turns, f"-lang{k}")

    def same_line(d: Dialogue, times: int) -> Dialogue:
        # One supporter line sent `times` turns in a row somewhere in the dialogue.
        turns = list(d.turns)
        spots = [i for i, t in enumerate(turns) if t.role == "supporter"]
        start = rng.randrange(len(spots) - times + 1)
        line = turns[spots[start]].text
        if len(line.split()) < 4:
            line = "I'm so sorry to hear that, I am here for you."
        for i in spots[start : start + times]:
            turns[i] = turns[i].model_copy(update={"text": line})
        return edit(d, turns, f"-same{times}")

    def hanging(d: Dialogue) -> Dialogue:
        # Stopped by the generator at its length right after a supporter question asked in
        # the body of the talk (the last one from turn 5 to two thirds in; without one, a
        # supporter turn there made to end on a question), before any goodbye.
        body = [
            i
            for i, t in enumerate(d.turns)
            if t.role == "supporter" and 5 <= i < max(6, 2 * len(d.turns) // 3)
        ]
        asks = [i for i in body if d.turns[i].text.rstrip().endswith("?")]
        end = asks[-1] if asks else body[-1]
        turns = list(d.turns[: end + 1])
        if not asks:
            text = turns[end].text.rstrip() + " How long has it been?"
            turns[end] = turns[end].model_copy(update={"text": text})
        return d.model_copy(
            update={"id": d.id + "-hang", "turns": turns, "end_reason": "completed"}
        )

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
        "2 supporter turns in another language": [other_language(d, 2) for d in clean],
        "3 supporter turns in another language": [other_language(d, 3) for d in clean],
        "one line 3 times in a row": [same_line(d, 3) for d in clean],
        "one line 4 times in a row": [same_line(d, 4) for d in clean],
        "question left at the length limit": [hanging(d) for d in clean],
        "split and rejoined text": [damage(d) for d in clean],
        "emotion from another family": [swap_emotion(d) for d in clean],
    }
    # A swapped emotion leaves the text as it was: run those without their originals, or
    # exact dedup would take them first. Defects that change a turn or two are run alone
    # too, or MinHash would take some as near copies and hide what their own filter does.
    alone = {
        "emotion from another family",
        "2 supporter turns in another language",
        "3 supporter turns in another language",
        "one line 3 times in a row",
        "one line 4 times in a row",
        "question left at the length limit",
    }
    print(f"\n## planted defects ({n} each, on ESConv dialogues the default recipe keeps)")
    print("(the emotion weights were fitted on ESConv train, which most of these come from;")
    print(" bench/emotion_consistency.py gives held-out numbers)")
    with tempfile.TemporaryDirectory() as tmp:
        for label, rows in defects.items():
            if only and not label.startswith(tuple(only)):
                continue
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
    parser.add_argument("--only", nargs="*", help="planted defects whose label starts so")
    args = parser.parse_args()
    print(
        f"# {platform.machine()} {os.cpu_count()} cpus, python {platform.python_version()}; filters: {', '.join(FILTERS)}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        esconv = real_data(args.shared, Path(tmp))
    planted(esconv, args.planted, args.seed, args.only)
    if args.dedup_n:
        dedup_speed(esconv, args.dedup_n, args.seed)


if __name__ == "__main__":
    main()
