"""Judge answers for tests: the rubric's JSON as a capable model would write it."""

from __future__ import annotations

import json
from typing import Any

JUDGED = ("empathy", "relevance", "helpfulness", "naturalness", "stays_in_role", "safety")


def judge_answer(
    moves: tuple[tuple[int, str], ...] = (),
    persona: int | None = 4,
    turns: dict[str, list[int]] | None = None,
    comment: str = "Warm and specific.",
    **scores: int,
) -> str:
    """Every judged criterion at 4 unless given; `moves` as (1-based turn, strategy);
    `turns` the turns cited per criterion."""
    cited = turns or {}
    answer: dict[str, Any] = {"main_moves": [{"turn": t, "move": m} for t, m in moves]}
    for criterion in JUDGED:
        answer[criterion] = {"score": scores.get(criterion, 4), "turns": cited.get(criterion, [])}
    answer["persona_consistency"] = {
        "score": persona,
        "turns": cited.get("persona_consistency", []),
    }
    answer["comment"] = comment
    return json.dumps(answer)
