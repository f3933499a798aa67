"""The measures `factory eval` reports for one set of dialogues.

An utterance is one message: a generated turn, or each message an import merged into a turn
(ESConv's published statistics count messages). Tokens are whitespace-separated words. A
measure that cannot be computed (no strategies, no intensity ratings, no judge verdicts) is
left out and named in `skipped` with the reason."""

from __future__ import annotations

import random
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from factory.counting import distinct_n, shares
from factory.models import Dialogue, Role


class Spread(BaseModel):
    """A measure's mean and population standard deviation over several samples."""

    model_config = ConfigDict(extra="forbid")

    mean: float
    std: float


class SampledDistinct(BaseModel):
    """Distinct-n over random samples of `size` dialogues: comparable between sets of
    different sizes, unlike the corpus value."""

    size: int
    distinct_1: Spread
    distinct_2: Spread


class IntensityMeasures(BaseModel):
    """The seekers' self-rated intensity (1-5) over the dialogues rated at least twice."""

    model_config = ConfigDict(extra="forbid")

    dialogues_rated: int
    initial: float | None
    final: float | None
    mean_drop: float | None
    improved_share: float
    by_seeker_turn: dict[str, float | None]
    # Mean rating by where it falls in the dialogue, 0 the seeker's first message and 1 its
    # last, in fifths: sets of different lengths (ESConv rates only the first and the last
    # message) then share one axis.
    by_position: dict[str, float | None] = Field(default_factory=dict)


# Measures that are absent from report.json (not null) when they cannot be computed.
_ABSENT_WHEN_NONE = frozenset(
    {"sampled", "strategy", "strategy_labelled_share", "intensity", "judge"}
)
_SAMPLED_KEY = re.compile(r"distinct_([12])_sample(\d+)")


class Measures(BaseModel):
    """One set's measures, as report.json holds them: the sampled distinct-n is written as
    `distinct_1_sample<size>` and `distinct_2_sample<size>`."""

    model_config = ConfigDict(extra="forbid")

    dialogues: int
    utterances_per_dialogue: float | None
    turns_per_dialogue: float | None
    tokens_per_seeker_utterance: float | None
    tokens_per_supporter_utterance: float | None
    distinct_1: float | None
    distinct_2: float | None
    sampled: SampledDistinct | None = None
    duplicate_supporter_utterance_share: float | None
    strategy: dict[str, float] | None = None
    strategy_labelled_share: float | None = None
    emotion: dict[str, int]
    problem: dict[str, int]
    emotion_problem_cells: int
    intensity: IntensityMeasures | None = None
    judge: dict[str, float | None] | None = None
    end_reason: dict[str, float]

    @model_serializer(mode="wrap")
    def _as_written(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        written: dict[str, Any] = {}
        for key, value in handler(self).items():
            if key in _ABSENT_WHEN_NONE and value is None:
                continue
            if key == "sampled":
                for n in ("1", "2"):
                    written[f"distinct_{n}_sample{value['size']}"] = value[f"distinct_{n}"]
                continue
            written[key] = value
        return written

    @model_validator(mode="before")
    @classmethod
    def _from_written(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "sampled" in data:
            return data
        found = {key: _SAMPLED_KEY.fullmatch(key) for key in data}
        sampled = {m.group(1): (key, int(m.group(2))) for key, m in found.items() if m}
        if not sampled:
            return data
        rest = {key: value for key, value in data.items() if not found[key]}
        size = next(iter(sampled.values()))[1]
        spreads = {f"distinct_{n}": data[key] for n, (key, _) in sampled.items()}
        return {**rest, "sampled": {"size": size, **spreads}}


@dataclass
class Measurement:
    """The measures of one set and the ones left out, each with the reason."""

    measures: Measures
    skipped: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Utterance:
    role: Role
    text: str
    strategy: str | None


def utterances(dialogue: Dialogue) -> list[Utterance]:
    """The dialogue's utterances in order: each merged message of a turn on its own."""
    out = []
    for turn in dialogue.turns:
        if turn.utterances:
            out += [Utterance(turn.role, u.text, u.strategy) for u in turn.utterances]
        else:
            out.append(Utterance(turn.role, turn.text, turn.strategy))
    return out


def _mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 3) if values else None


# The measures that may come out empty, and why they do.
_WHY_EMPTY = (
    ("tokens_per_seeker_utterance", "no seeker utterances"),
    ("tokens_per_supporter_utterance", "no supporter utterances"),
    ("distinct_1", "no words in any utterance"),
    ("distinct_2", "no utterance of two or more words"),
    ("duplicate_supporter_utterance_share", "no supporter utterances"),
)


def measure(
    dialogues: list[Dialogue], sample_size: int = 100, draws: int = 5, seed: int = 0
) -> Measurement:
    """Every measure of the set; what cannot be computed is named in `skipped`."""
    skipped: dict[str, str] = {}
    per_dialogue = [utterances(d) for d in dialogues]
    flat = [u for us in per_dialogue for u in us]
    seeker = [u for u in flat if u.role == "seeker"]
    supporter = [u for u in flat if u.role == "supporter"]
    texts = [u.text for u in flat]
    normalised = Counter(u.text.strip().lower() for u in supporter)
    sampled = _sampled_distinct(per_dialogue, sample_size, draws, seed, skipped)
    strategies = Counter(u.strategy for u in supporter if u.strategy)
    if not strategies:
        skipped["strategy"] = "no supporter utterance has a strategy label"
    grid = Counter((d.scenario.emotion_type, d.scenario.problem_type) for d in dialogues)
    measures = Measures(
        dialogues=len(dialogues),
        utterances_per_dialogue=_mean([len(us) for us in per_dialogue]),
        turns_per_dialogue=_mean([len(d.turns) for d in dialogues]),
        tokens_per_seeker_utterance=_mean([len(u.text.split()) for u in seeker]),
        tokens_per_supporter_utterance=_mean([len(u.text.split()) for u in supporter]),
        distinct_1=distinct_n(texts, 1),
        distinct_2=distinct_n(texts, 2),
        sampled=sampled,
        duplicate_supporter_utterance_share=(
            round(sum(c - 1 for c in normalised.values()) / len(supporter), 4)
            if supporter
            else None
        ),
        strategy=shares(strategies) if strategies else None,
        strategy_labelled_share=(
            round(sum(strategies.values()) / len(supporter), 4) if strategies else None
        ),
        emotion=dict(Counter(d.scenario.emotion_type for d in dialogues).most_common()),
        problem=dict(Counter(d.scenario.problem_type for d in dialogues).most_common()),
        emotion_problem_cells=len(grid),
        intensity=_intensity(dialogues, skipped),
        judge=_judge(dialogues, skipped),
        end_reason=shares(Counter(d.end_reason for d in dialogues)),
    )
    for key, why in _WHY_EMPTY:
        if getattr(measures, key) is None:
            skipped[key] = why
    return Measurement(measures, skipped)


def _sampled_distinct(
    per_dialogue: list[list[Utterance]],
    size: int,
    draws: int,
    seed: int,
    skipped: dict[str, str],
) -> SampledDistinct | None:
    if len(per_dialogue) < size:
        skipped["distinct_sample"] = (
            f"fewer than {size} dialogues: the fixed-size distinct-n needs {size}"
        )
        return None
    rng = random.Random(seed)
    samples = []
    for _ in range(draws):
        picked = rng.sample(range(len(per_dialogue)), size)
        sample = [u.text for i in picked for u in per_dialogue[i]]
        samples.append((distinct_n(sample, 1) or 0.0, distinct_n(sample, 2) or 0.0))
    spreads = [
        Spread(mean=round(statistics.fmean(values), 4), std=round(statistics.pstdev(values), 4))
        for values in ([s[0] for s in samples], [s[1] for s in samples])
    ]
    return SampledDistinct(size=size, distinct_1=spreads[0], distinct_2=spreads[1])


POSITION_STEP = 0.2  # by_position's resolution
MIN_RATINGS = {"turn": 5, "position": 3}  # fewer ratings at a point: left out, not plotted


def _intensity(dialogues: list[Dialogue], skipped: dict[str, str]) -> IntensityMeasures | None:
    seekers = [[t for t in d.turns if t.role == "seeker"] for d in dialogues]
    rated = [[(i, t.intensity) for i, t in enumerate(turns) if t.intensity] for turns in seekers]
    by_position: dict[float, list[int]] = {}
    for turns, ratings in zip(seekers, rated, strict=True):
        if len(ratings) >= 2:
            for i, value in ratings:
                position = i / (len(turns) - 1)
                point = round(round(position / POSITION_STEP) * POSITION_STEP, 1)
                by_position.setdefault(point, []).append(value)
    rated = [r for r in rated if len(r) >= 2]
    if not rated:
        skipped["intensity"] = "no dialogue has two or more self-rated intensities"
        return None
    first = [r[0][1] for r in rated]
    last = [r[-1][1] for r in rated]
    by_turn: dict[int, list[int]] = {}
    for r in rated:
        for i, value in r:
            by_turn.setdefault(i, []).append(value)
    return IntensityMeasures(
        dialogues_rated=len(rated),
        initial=_mean([float(x) for x in first]),
        final=_mean([float(x) for x in last]),
        mean_drop=_mean([float(a - b) for a, b in zip(first, last, strict=True)]),
        improved_share=round(sum(b < a for a, b in zip(first, last, strict=True)) / len(rated), 4),
        by_seeker_turn={
            str(i): _mean([float(x) for x in values])
            for i, values in sorted(by_turn.items())
            if len(values) >= MIN_RATINGS["turn"]
        },
        by_position={
            str(point): _mean([float(x) for x in values])
            for point, values in sorted(by_position.items())
            if len(values) >= MIN_RATINGS["position"]
        },
    )


def _judge(dialogues: list[Dialogue], skipped: dict[str, str]) -> dict[str, float | None] | None:
    scores: dict[str, list[float]] = {}
    unreadable = 0
    for d in dialogues:
        for verdict in d.verdicts:
            if verdict.filter == "judge" and isinstance(verdict.details.get("scores"), dict):
                for name, value in verdict.details["scores"].items():
                    if value is None:
                        continue  # not applicable to this dialogue (e.g. an unknown profile)
                    if isinstance(value, int | float) and not isinstance(value, bool):
                        scores.setdefault(name, []).append(float(value))
                    else:
                        unreadable += 1
    if unreadable:
        skipped["judge_unreadable_scores"] = f"{unreadable} judge scores are not numbers"
    if not scores:
        skipped["judge"] = "no judge scores in the verdicts (the judge filter did not run)"
        return None
    return {name: _mean(values) for name, values in sorted(scores.items())}
