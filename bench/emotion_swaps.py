"""Emotion consistency on dialogues of your own (a run's, generated through our prompts):
the shipped `emotion_consistency` filter on each dialogue as labelled, then on copies with
the scenario's emotion replaced by every emotion of another family (the text unchanged).
Prints the share of labelled dialogues dropped and of swaps caught, per stated family, and
the dropped ones with the filter's family probabilities. Dialogues that ended in an error,
or whose emotion is not in the persona data's list, are left out.

    python bench/emotion_swaps.py docs/oracle-check-12/run*/dialogues.jsonl
"""

from __future__ import annotations

import argparse
import os
import platform
from collections import Counter
from pathlib import Path

from factory.filters.emotion_consistency import EmotionConsistencyFilter, emotion_families
from factory.filters.lines import read_dialogues
from factory.models import Dialogue


def load(paths: list[Path], families: dict[str, str]) -> list[Dialogue]:
    return [
        d
        for path in paths
        for _, d, _, _ in read_dialogues(path)
        if d is not None
        and not d.end_reason.startswith("error")
        and d.scenario.emotion_type in families
    ]


def swapped(dialogues: list[Dialogue], families: dict[str, str]) -> list[tuple[Dialogue, str]]:
    """Every dialogue once for each emotion outside its family, with its own family."""
    return [
        (
            d.model_copy(
                update={"scenario": d.scenario.model_copy(update={"emotion_type": emotion})}
            ),
            families[d.scenario.emotion_type],
        )
        for d in dialogues
        for emotion, family in families.items()
        if family != families[d.scenario.emotion_type]
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("files", type=Path, nargs="+", help="dialogues .jsonl files")
    args = parser.parse_args()
    print(f"# {platform.machine()} {os.cpu_count()} cpus, python {platform.python_version()}")
    families = emotion_families()
    dialogues = load(args.files, families)
    check = EmotionConsistencyFilter()
    real = [o.verdict for o in check.check_batch(dialogues)]
    swaps = swapped(dialogues, families)
    caught = [not o.verdict.keep for o in check.check_batch([d for d, _ in swaps])]
    dropped = sum(not v.keep for v in real)
    print(
        f"labelled: {dropped}/{len(real)} dropped ({100 * dropped / len(real):.1f}%);"
        f" swaps: {sum(caught)}/{len(caught)} caught ({100 * sum(caught) / len(caught):.1f}%)"
    )
    by_family: Counter[str] = Counter()
    caught_by: Counter[str] = Counter()
    for (_, own), hit in zip(swaps, caught, strict=True):
        by_family[own] += 1
        caught_by[own] += hit
    for family in sorted(by_family):
        print(f"  written as {family}: swaps caught {caught_by[family]}/{by_family[family]}")
    for d, v in zip(dialogues, real, strict=True):
        if not v.keep:
            print(f"  dropped {d.id}: stated {d.scenario.emotion_type}, {v.details}")


if __name__ == "__main__":
    main()
