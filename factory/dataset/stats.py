"""Statistics of a set of dialogues, shared by the dataset card and `factory diff`."""

from __future__ import annotations

import statistics
from collections import Counter

from factory.counting import shares
from factory.models import Dialogue, Record


class Summary(Record):
    """Mean, median and range of one per-item count (0 everywhere for no items)."""

    mean: float
    median: float
    min: int
    max: int


class DatasetStats(Record):
    """What a version holds: sizes and the shares of labels, strategies and models."""

    dialogues: int
    turns_per_dialogue: Summary
    words_per_seeker_turn: Summary
    words_per_supporter_turn: Summary
    strategy: dict[str, float]
    emotion: dict[str, float]
    problem: dict[str, float]
    end_reason: dict[str, float]
    models: dict[str, float]

    def numbers(self) -> dict[str, float]:
        """Every number by its dotted path (`turns_per_dialogue.mean`, `emotion.grief`)."""
        return _flatten(self.model_dump())


def _flatten(values: dict[str, object], prefix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        elif isinstance(value, int | float):
            out[prefix + key] = float(value)
    return out


def _summary(values: list[int]) -> Summary:
    if not values:
        return Summary(mean=0.0, median=0.0, min=0, max=0)
    return Summary(
        mean=round(statistics.fmean(values), 2),
        median=float(statistics.median(values)),
        min=min(values),
        max=max(values),
    )


def dataset_stats(dialogues: list[Dialogue]) -> DatasetStats:
    seeker = [len(t.text.split()) for d in dialogues for t in d.turns if t.role == "seeker"]
    supporter = [len(t.text.split()) for d in dialogues for t in d.turns if t.role == "supporter"]
    return DatasetStats(
        dialogues=len(dialogues),
        turns_per_dialogue=_summary([len(d.turns) for d in dialogues]),
        words_per_seeker_turn=_summary(seeker),
        words_per_supporter_turn=_summary(supporter),
        strategy=shares(
            Counter(
                t.strategy
                for d in dialogues
                for t in d.turns
                if t.role == "supporter" and t.strategy
            )
        ),
        emotion=shares(Counter(d.scenario.emotion_type for d in dialogues)),
        problem=shares(Counter(d.scenario.problem_type for d in dialogues)),
        end_reason=shares(Counter(d.end_reason for d in dialogues)),
        models=shares(Counter(f"{d.generation.backend}:{d.generation.model}" for d in dialogues)),
    )
