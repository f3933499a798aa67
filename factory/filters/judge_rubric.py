"""The judge's rubric as types: what the judge must answer (`JudgeAnswer`, also sent to the
backend as its JSON schema), what is stored in the verdict (`JudgeVerdict`), and the two
rules computed here rather than asked for: strategy adherence from the judge's per-turn
main moves, and the combined score over the applicable criteria."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from factory.models import Record
from factory.roleplay.parsing import coerce_int

# In the order the verdict lists them. `strategy_adherence` is computed from the main moves;
# the judge scores the others.
CRITERIA = (
    "empathy",
    "relevance",
    "helpfulness",
    "strategy_adherence",
    "naturalness",
    "stays_in_role",
    "persona_consistency",
    "safety",
)
SCORED_BY_JUDGE = tuple(c for c in CRITERIA if c != "strategy_adherence")

Combine = Literal["mean", "min"]


def _score(value: Any) -> int:
    return coerce_int(value, 1, 5, "score")


def _score_or_none(value: Any) -> int | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in {"null", "n/a", ""}):
        return None
    return _score(value)


def _turn_numbers(value: Any) -> list[int]:
    """Turn numbers as cited; a single number or numeric strings are accepted."""
    items = value if isinstance(value, list) else [value]
    return [coerce_int(v, 0, 10_000, "turn") for v in items if v is not None]


def _comment(value: Any) -> str:
    return str(value or "").strip()[:300]


Level = Literal[1, 2, 3, 4, 5]
Score = Annotated[Level, BeforeValidator(_score)]
Turns = Annotated[list[int], BeforeValidator(_turn_numbers)]


class _Answer(BaseModel):
    # Extra keys from a chatty model are ignored on reading; the schema sent to the backend
    # forbids them (see answer_schema).
    model_config = ConfigDict(extra="ignore")


class CriterionAnswer(_Answer):
    score: Score
    turns: Turns = Field(default_factory=list)


class OptionalCriterionAnswer(_Answer):
    score: Annotated[Level | None, BeforeValidator(_score_or_none)]
    turns: Turns = Field(default_factory=list)


class MainMove(_Answer):
    turn: Annotated[int, BeforeValidator(lambda v: coerce_int(v, 0, 10_000, "turn"))]
    move: str


class JudgeAnswer(_Answer):
    """The judge's answer. Turn numbers are as shown to it (1-based). Main moves come first
    so the per-turn reading is written before the scores."""

    main_moves: list[MainMove]
    empathy: CriterionAnswer
    relevance: CriterionAnswer
    helpfulness: CriterionAnswer
    naturalness: CriterionAnswer
    stays_in_role: CriterionAnswer
    persona_consistency: OptionalCriterionAnswer
    safety: CriterionAnswer
    comment: Annotated[str, BeforeValidator(_comment)] = ""


def answer_schema(strategies: list[str]) -> dict[str, Any]:
    """JudgeAnswer's JSON schema as backends take it: references inlined, every property
    required, no extra keys (what llama.cpp, vLLM and OpenAI's strict mode all accept),
    scores as an enum of 1-5, the main move as one of the taxonomy's strategy names."""
    raw = JudgeAnswer.model_json_schema()
    definitions = raw.pop("$defs", {})
    schema: dict[str, Any] = _plain(raw, definitions)
    move = schema["properties"]["main_moves"]["items"]["properties"]["move"]
    move["enum"] = list(strategies)
    schema["properties"]["comment"]["maxLength"] = 300
    return schema


def _plain(node: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_plain(item, definitions) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return _plain(copy.deepcopy(definitions[node["$ref"].rsplit("/", 1)[-1]]), definitions)
    dropped = {"title", "default", "description"}
    out = {k: _plain(v, definitions) for k, v in node.items() if k not in dropped}
    if out.get("type") == "object" and "properties" in out:
        out["required"] = list(out["properties"])
        out["additionalProperties"] = False
    return out


class MoveRecord(Record):
    """One labelled supporter turn as the judge read it: its index in `dialogue.turns`, the
    label(s) it carries, the main move the judge named, and whether they agree."""

    turn: int
    labels: list[str]
    move: str
    matches: bool


class JudgeVerdict(Record):
    """What the judge filter stores in a verdict's details. `scores` holds every criterion;
    None means not applicable (left out of the combined score and listed in
    `not_applicable`). `evidence` maps each criterion to the turns behind its score, as
    0-based indices into `dialogue.turns`: the judge cites them for scores of 3 or lower,
    and strategy adherence cites the turns whose main move misses the label."""

    scores: dict[str, int | None]
    combined: float | None
    evidence: dict[str, list[int]]
    not_applicable: list[str]
    main_moves: list[MoveRecord]
    strategy_match_share: float | None
    comment: str


def strategy_score(share: float) -> int:
    """Strategy adherence, 1-5, from the share of labelled supporter turns whose main move
    matches the label: all or nearly all (>= 0.9) 5, >= 0.75 4, >= 0.5 3, >= 0.25 2, else 1."""
    for floor, score in ((0.9, 5), (0.75, 4), (0.5, 3), (0.25, 2)):
        if share >= floor:
            return score
    return 1


def combined_score(
    scores: Mapping[str, int | float | None],
    combine: Combine = "mean",
    weights: Mapping[str, float] | None = None,
) -> float | None:
    """The combined score of the applicable criteria (None ones are left out): their
    weighted mean (weights default to 1; the weights of the criteria present are
    renormalised), or their minimum. Rounded to 3 places, the value thresholds compare."""
    applicable = {c: float(s) for c, s in scores.items() if s is not None}
    if not applicable:
        return None
    if combine == "min":
        return round(min(applicable.values()), 3)
    weight = {c: (weights or {}).get(c, 1.0) for c in applicable}
    total = sum(weight.values())
    if total <= 0:
        weight, total = dict.fromkeys(applicable, 1.0), float(len(applicable))
    return round(sum(weight[c] * applicable[c] for c in applicable) / total, 3)
