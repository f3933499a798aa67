"""Statistics of a set of dialogues, tallied one dialogue at a time: the dataset card shows
them and `factory diff` compares two versions' ones."""

from __future__ import annotations

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


def _summary(values: Counter[int]) -> Summary:
    """From a histogram of the values, exactly as statistics.fmean and median give them."""
    count = sum(values.values())
    if not count:
        return Summary(mean=0.0, median=0.0, min=0, max=0)
    ordered = sorted(values.items())
    middle = []  # the one or two middle values, by their rank among all
    seen = 0
    for value, n in ordered:
        for rank in {(count - 1) // 2, count // 2}:
            if seen <= rank < seen + n:
                middle.append(value)
        seen += n
    return Summary(
        mean=round(sum(v * n for v, n in ordered) / count, 2),
        median=float(middle[0] if len(middle) == 1 else (middle[0] + middle[1]) / 2),
        min=ordered[0][0],
        max=ordered[-1][0],
    )


class StatsTally:
    """The statistics of dialogues added one at a time: counts and histograms only, so a
    million dialogues take as little memory as a thousand."""

    def __init__(self) -> None:
        self.dialogues = 0
        self.turns: Counter[int] = Counter()
        self.seeker: Counter[int] = Counter()
        self.supporter: Counter[int] = Counter()
        self.strategy: Counter[str] = Counter()
        self.emotion: Counter[str] = Counter()
        self.problem: Counter[str] = Counter()
        self.end_reason: Counter[str] = Counter()
        self.models: Counter[str] = Counter()

    def add(self, dialogue: Dialogue) -> None:
        self.dialogues += 1
        self.turns[len(dialogue.turns)] += 1
        for turn in dialogue.turns:
            if turn.role == "seeker":
                self.seeker[len(turn.text.split())] += 1
            elif turn.role == "supporter":
                self.supporter[len(turn.text.split())] += 1
                if turn.strategy:
                    self.strategy[turn.strategy] += 1
        self.emotion[dialogue.scenario.emotion_type] += 1
        self.problem[dialogue.scenario.problem_type] += 1
        self.end_reason[dialogue.end_reason] += 1
        self.models[f"{dialogue.generation.backend}:{dialogue.generation.model}"] += 1

    def stats(self) -> DatasetStats:
        return DatasetStats(
            dialogues=self.dialogues,
            turns_per_dialogue=_summary(self.turns),
            words_per_seeker_turn=_summary(self.seeker),
            words_per_supporter_turn=_summary(self.supporter),
            strategy=shares(self.strategy),
            emotion=shares(self.emotion),
            problem=shares(self.problem),
            end_reason=shares(self.end_reason),
            models=shares(self.models),
        )
