"""Statistics of a set of dialogues, shared by the dataset card and `factory diff`."""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Any

from factory.models import Dialogue


def shares(counter: Counter[str]) -> dict[str, float]:
    """Each value's share of the count, largest first (ties by name), to 4 places."""
    total = sum(counter.values())
    return (
        {k: round(v / total, 4) for k, v in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))}
        if total
        else {}
    )


def _summary(values: list[int]) -> dict[str, float]:
    if not values:
        return {"mean": 0.0, "median": 0.0, "min": 0, "max": 0}
    return {
        "mean": round(statistics.fmean(values), 2),
        "median": float(statistics.median(values)),
        "min": min(values),
        "max": max(values),
    }


def dataset_stats(dialogues: list[Dialogue]) -> dict[str, Any]:
    seeker = [len(t.text.split()) for d in dialogues for t in d.turns if t.role == "seeker"]
    supporter = [len(t.text.split()) for d in dialogues for t in d.turns if t.role == "supporter"]
    return {
        "dialogues": len(dialogues),
        "turns_per_dialogue": _summary([len(d.turns) for d in dialogues]),
        "words_per_seeker_turn": _summary(seeker),
        "words_per_supporter_turn": _summary(supporter),
        "strategy": shares(
            Counter(
                t.strategy
                for d in dialogues
                for t in d.turns
                if t.role == "supporter" and t.strategy
            )
        ),
        "emotion": shares(Counter(d.scenario.emotion_type for d in dialogues)),
        "problem": shares(Counter(d.scenario.problem_type for d in dialogues)),
        "end_reason": shares(Counter(d.end_reason for d in dialogues)),
        "models": shares(
            Counter(f"{d.generation.backend}:{d.generation.model}" for d in dialogues)
        ),
    }
