"""The measures `factory eval` reports for one set of dialogues.

An utterance is one message: a generated turn, or each message an import merged into a turn
(ESConv's published statistics count messages). Tokens are whitespace-separated words. A
measure that cannot be computed (no strategies, no intensity ratings, no judge verdicts) is
left out and named in `skipped` with the reason."""

from __future__ import annotations

import re
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


# The measures that may come out empty, and why they do.
WHY_EMPTY = (
    ("tokens_per_seeker_utterance", "no seeker utterances"),
    ("tokens_per_supporter_utterance", "no supporter utterances"),
    ("distinct_1", "no words in any utterance"),
    ("distinct_2", "no utterance of two or more words"),
    ("duplicate_supporter_utterance_share", "no supporter utterances"),
)


POSITION_STEP = 0.2  # by_position's resolution
MIN_RATINGS = {"turn": 5, "position": 3}  # fewer ratings at a point: left out, not plotted
