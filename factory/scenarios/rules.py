"""Plausibility rules (personas/constraints.yaml) and the facts they test.

A `fields` rule says: when every `when` fact holds and no `unless` fact does, no `exclude`
fact may hold and every `require` fact must. Facts may be partly known: the sampler tests
a persona while drawing it, attribute by attribute, and a rule is judged only once the
facts it conditions on are known, so a draw is never refused for a fact it has yet to
draw. The other checks (`check: style`, ...) live in plausibility.py."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Range(Strict):
    """An inclusive range of numbers; either end may be open."""

    min: int | None = None
    max: int | None = None

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, int):
            return False
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.min is None and self.max is None:
            raise ValueError("a range needs min or max")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max})")
        return self


CATEGORICAL = (
    "age_band", "gender", "occupation", "occupation_kind", "life_stage", "living_situation",
    "coping_style", "disclosure", "verbosity", "cultural_background", "problem", "emotion",
)  # fmt: skip
NUMERIC = ("age", "intensity", "recency_days")
Facet = Literal[
    "age_band", "gender", "occupation", "occupation_kind", "life_stage", "living_situation",
    "coping_style", "disclosure", "verbosity", "cultural_background", "problem", "emotion",
    "age", "intensity", "recency_days", "mentions",
]  # fmt: skip
Allowed = list[str] | Range
Conditions = dict[Facet, Allowed]
FactValue = str | int | frozenset[str]
Facts = dict[str, FactValue]

CheckKind = Literal[
    "fields", "age_ranges", "style", "relative_ages", "elderly_relatives", "duration",
    "problem_named", "emotion_listed", "pasted_job", "known_values",
]  # fmt: skip
_SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")


def _shape(conditions: Conditions, where: str) -> None:
    for facet, allowed in conditions.items():
        numeric = facet in NUMERIC
        if numeric != isinstance(allowed, Range):
            shape = "a range {min, max}" if numeric else "a list of values"
            raise ValueError(f"{where}.{facet}: give {shape}")
        if isinstance(allowed, list) and not allowed:
            raise ValueError(f"{where}.{facet}: list at least one value")


def holds(value: FactValue, allowed: Allowed) -> bool:
    """Whether a fact takes one of the allowed values (any of them, for a set of cues)."""
    if isinstance(allowed, Range):
        return value in allowed
    if isinstance(value, frozenset):
        return any(v in value for v in allowed)
    return value in allowed


def meets(facts: Facts, conditions: Conditions) -> bool:
    """Every condition holds; an unknown fact fails its condition."""
    return all(f in facts and holds(facts[f], allowed) for f, allowed in conditions.items())


class Rule(Strict):
    name: str
    reason: str = Field(min_length=1)
    check: CheckKind = "fields"
    when: Conditions = Field(default_factory=dict)
    unless: Conditions = Field(default_factory=dict)
    exclude: Conditions = Field(default_factory=dict)
    require: Conditions = Field(default_factory=dict)
    _parts: tuple[Compiled, Compiled, Compiled, Compiled] = PrivateAttr()

    @field_validator("when", "unless", "exclude", "require", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        """YAML reads `age: [17]` as numbers; as text it gets the clear 'give a range'."""
        if isinstance(value, dict):
            return {k: [str(x) for x in v] if isinstance(v, list) else v for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _well_formed(self) -> Rule:
        if not _SNAKE.match(self.name):
            raise ValueError(f"name '{self.name}': use snake_case")
        parts = {"when": self.when, "unless": self.unless, "exclude": self.exclude}
        parts["require"] = self.require
        if self.check != "fields":
            if any(parts.values()):
                raise ValueError(
                    f"{self.name}: a `{self.check}` check takes no when/unless/exclude/require"
                )
            return self
        if not self.when or not (self.exclude or self.require):
            raise ValueError(f"{self.name}: a rule needs `when` and `exclude` or `require`")
        for where, conditions in parts.items():
            _shape(conditions, f"{self.name}: {where}")
        return self

    def model_post_init(self, context: Any, /) -> None:
        # The sampler tests rules hundreds of times per scenario: keep them as sets and
        # bounds rather than walking the pydantic fields each time.
        compiled = tuple(_compiled(part) for part in (self.when, self.unless, self.exclude))
        object.__setattr__(self, "_parts", (*compiled, _compiled(self.require)))

    def broken_by(self, facts: Facts) -> bool:
        """Whether the facts known so far break this `fields` rule."""
        when, unless, exclude, require = self._parts
        for facet, values, low, high in when:
            if facet not in facts or not _test(facts[facet], values, low, high):
                return False  # unknown yet, or does not apply
        for facet, values, low, high in unless:
            if facet not in facts or _test(facts[facet], values, low, high):
                return False  # not judged until known, or excepted
        for facet, values, low, high in exclude:
            if facet in facts and _test(facts[facet], values, low, high):
                return True
        for facet, values, low, high in require:
            if facet in facts and not _test(facts[facet], values, low, high):
                return True
        return False


Compiled = tuple[tuple[str, frozenset[str] | None, int | None, int | None], ...]


def _compiled(conditions: Conditions) -> Compiled:
    return tuple(
        (f, None, a.min, a.max) if isinstance(a, Range) else (f, frozenset(a), None, None)
        for f, a in conditions.items()
    )


def _test(
    value: FactValue, values: frozenset[str] | None, low: int | None, high: int | None
) -> bool:
    if values is None:
        return (
            isinstance(value, int)
            and (low is None or value >= low)
            and (high is None or value <= high)
        )
    if isinstance(value, frozenset):
        return not values.isdisjoint(value)
    return value in values


class Rules(Strict):
    rules: list[Rule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> Rules:
        names = [r.name for r in self.rules]
        duplicate = next((n for n in names if names.count(n) > 1), None)
        if duplicate:
            raise ValueError(f"rule '{duplicate}' appears twice")
        return self
