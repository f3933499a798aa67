"""Many dialogues from a few: copies of seed dialogues with new ids, labels drawn in turn
from the seeds' own and lengths cut in a fixed pattern, so a test or a benchmark gets 10,000
varied, valid dialogues in a second. Deterministic: the same seeds give the same copies."""

from __future__ import annotations

from collections.abc import Iterator

from factory.models import Dialogue


def varied_copies(seeds: list[Dialogue], n: int) -> Iterator[Dialogue]:
    """`n` dialogues: copy k is seed k mod len(seeds), its id suffixed with k, its problem
    and emotion rotated through the seeds' labels, and its last (k * 7) mod 13 turns cut
    (never below two turns)."""
    problems = sorted({d.scenario.problem_type for d in seeds})
    emotions = sorted({d.scenario.emotion_type for d in seeds})
    for k in range(n):
        base = seeds[k % len(seeds)]
        keep = max(2, len(base.turns) - (k * 7) % 13)
        scenario = base.scenario.model_copy(
            update={
                "problem_type": problems[(k // len(seeds)) % len(problems)],
                "emotion_type": emotions[(k // 3) % len(emotions)],
            }
        )
        yield base.model_copy(
            update={"id": f"{base.id}-{k:05d}", "turns": base.turns[:keep], "scenario": scenario}
        )
