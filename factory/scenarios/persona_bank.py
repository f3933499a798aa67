"""The persona data files (personas/*.yaml): attribute pools, problems, emotions, constraints
and situation templates, validated at load. A bad file fails with one line naming the file
and the key: an unknown field, an empty pool, a constraint naming a value that does not exist."""

from __future__ import annotations

import string
from pathlib import Path
from typing import Annotated, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from factory.errors import DataFileError, first_error_line
from factory.resources import data_dir, read_text
from factory.settings import validation_line


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AgeRange(Strict):
    def bounds(self) -> tuple[int, int]:
        raise NotImplementedError

    @model_validator(mode="after")
    def _ordered(self) -> AgeRange:
        low, high = self.bounds()
        if low > high:
            raise ValueError(f"the lower age ({low}) is above the upper one ({high})")
        return self


class AgeBand(AgeRange):
    name: str
    min: int = Field(ge=10, le=100)
    max: int = Field(ge=10, le=100)

    def bounds(self) -> tuple[int, int]:
        return self.min, self.max


class Occupation(AgeRange):
    name: str
    min_age: int = Field(default=10, ge=10, le=100)
    max_age: int = Field(default=100, ge=10, le=100)
    works: bool = True

    def bounds(self) -> tuple[int, int]:
        return self.min_age, self.max_age


class LifeStage(AgeRange):
    name: str
    min_age: int = Field(default=10, ge=10, le=100)
    max_age: int = Field(default=100, ge=10, le=100)

    def bounds(self) -> tuple[int, int]:
        return self.min_age, self.max_age


class Described(Strict):
    name: str
    description: str = Field(min_length=1)


M = TypeVar("M", bound=BaseModel)

BIG_FIVE = ("openness", "conscientiousness", "extraversion", "agreeableness", "neuroticism")


class Attributes(Strict):
    age_bands: list[AgeBand] = Field(min_length=1)
    genders: list[str] = Field(min_length=1)
    names: dict[str, list[str]]
    occupations: list[Occupation] = Field(min_length=1)
    life_stages: list[LifeStage] = Field(min_length=1)
    living_situations: list[str] = Field(min_length=1)
    cultural_backgrounds: list[str] = Field(min_length=1)
    big_five_levels: list[Literal["low", "medium", "high"]] = Field(min_length=1)
    coping_styles: list[str] = Field(min_length=1)
    disclosure: list[Described] = Field(min_length=1)
    verbosity: list[Described] = Field(min_length=1)
    big_five_words: dict[str, dict[Literal["low", "high"], str]]

    @model_validator(mode="after")
    def _consistent(self) -> Attributes:
        for gender in self.genders:
            if not self.names.get(gender) and not self.names.get("any"):
                raise ValueError(f"names: no names for gender '{gender}' and no 'any' list")
        unknown = set(self.big_five_words) - set(BIG_FIVE)
        if unknown:
            raise ValueError(
                f"big_five_words: unknown trait(s) {sorted(unknown)}; use {', '.join(BIG_FIVE)}"
            )
        return self


class Problem(Strict):
    name: str
    description: str = Field(min_length=1)
    emotions: list[str] = Field(min_length=1)
    esconv_weight: int | None = Field(default=None, ge=0)


class Problems(Strict):
    problems: list[Problem] = Field(min_length=1)


class Emotion(Strict):
    name: str
    family: str
    description: str = Field(min_length=1)
    esconv_weight: int | None = Field(default=None, ge=0)


class Emotions(Strict):
    emotions: list[Emotion] = Field(min_length=1)


ConstraintField = Literal[
    "age_band", "gender", "occupation", "life_stage", "living_situation", "problem", "emotion"
]


class Rule(Strict):
    """When a persona matches every `when` field, none of the `exclude` values may be drawn,
    and each `require` field must take one of its listed values."""

    when: dict[ConstraintField, list[str]] = Field(min_length=1)
    exclude: dict[ConstraintField, list[str]] = Field(default_factory=dict)
    require: dict[ConstraintField, list[str]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _does_something(self) -> Rule:
        if not self.exclude and not self.require:
            raise ValueError("a rule needs `exclude` or `require`")
        return self


class Constraints(Strict):
    rules: list[Rule] = Field(default_factory=list)


NonEmpty = Annotated[list[str], Field(min_length=1)]


class Situations(Strict):
    fillers: dict[str, NonEmpty] = Field(default_factory=dict)
    templates: dict[str, NonEmpty]


class PersonaBank:
    """All persona data, cross-checked: every name a constraint or template uses exists."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or data_dir("personas")
        self.attributes = _load(self.directory / "attributes.yaml", Attributes)
        self.problems = _load(self.directory / "problems.yaml", Problems).problems
        self.emotions = _load(self.directory / "emotions.yaml", Emotions).emotions
        self.constraints = _load(self.directory / "constraints.yaml", Constraints).rules
        self.situations = _load(self.directory / "situations.yaml", Situations)
        self._cross_check()

    def values(self, field: str) -> list[str]:
        """The allowed values of a constraint field."""
        a = self.attributes
        pools: dict[str, list[str]] = {
            "age_band": [b.name for b in a.age_bands],
            "gender": a.genders,
            "occupation": [o.name for o in a.occupations],
            "life_stage": [s.name for s in a.life_stages],
            "living_situation": a.living_situations,
            "problem": [p.name for p in self.problems],
            "emotion": [e.name for e in self.emotions],
        }
        return pools[field]

    def emotion(self, name: str) -> Emotion:
        return next(e for e in self.emotions if e.name == name)

    def _cross_check(self) -> None:
        self._check_problems_and_emotions()
        self._check_constraints()
        self._check_situations()

    def _check_problems_and_emotions(self) -> None:
        path = self.directory / "problems.yaml"
        for collection, file, key in (
            (self.problems, "problems.yaml", "problems"),
            (self.emotions, "emotions.yaml", "emotions"),
        ):
            names = [item.name for item in collection]
            duplicate = next((n for n in names if names.count(n) > 1), None)
            if duplicate:
                raise DataFileError(f"{self.directory / file}: {key}: '{duplicate}' appears twice")
        emotions = set(self.values("emotion"))
        used = {e for p in self.problems for e in p.emotions}
        for i, listed in enumerate(self.emotions):
            if listed.name not in used:
                raise DataFileError(
                    f"{self.directory / 'emotions.yaml'}: emotions.{i}: '{listed.name}' is not listed"
                    " by any problem in problems.yaml, so it would never be sampled"
                )
        for i, problem in enumerate(self.problems):
            for emotion in problem.emotions:
                if emotion not in emotions:
                    raise DataFileError(
                        f"{path}: problems.{i}.emotions: unknown emotion '{emotion}'"
                        " (not in emotions.yaml)"
                    )

    def _check_constraints(self) -> None:
        path = self.directory / "constraints.yaml"
        for i, rule in enumerate(self.constraints):
            for part in ("when", "exclude", "require"):
                for field, values in getattr(rule, part).items():
                    known = set(self.values(field))
                    for value in values:
                        if value not in known:
                            raise DataFileError(
                                f"{path}: rules.{i}.{part}.{field}: unknown value '{value}'"
                            )

    def _check_situations(self) -> None:
        path = self.directory / "situations.yaml"
        problem_names = set(self.values("problem"))
        slots = {"occupation", "a_occupation", *self.situations.fillers}
        for name, templates in self.situations.templates.items():
            if name not in problem_names:
                raise DataFileError(
                    f"{path}: templates.{name}: unknown problem (not in problems.yaml)"
                )
            for template in templates:
                try:
                    parsed = list(string.Formatter().parse(template))
                except ValueError as exc:
                    raise DataFileError(
                        f"{path}: templates.{name}: {exc} in {template!r}"
                    ) from None
                for _, slot, _, _ in parsed:
                    if slot is not None and slot not in slots:
                        raise DataFileError(
                            f"{path}: templates.{name}: unknown slot '{{{slot}}}'"
                            f" (fillers: {', '.join(sorted(self.situations.fillers))})"
                        )
        missing = sorted(problem_names - set(self.situations.templates))
        if missing:
            raise DataFileError(
                f"{path}: templates: no template for problem(s) {', '.join(missing)}"
            )


def _load(path: Path, model: type[M]) -> M:
    if not path.is_file():
        raise DataFileError(f"{path} not found: restore it or pass a complete personas folder")
    try:
        data = yaml.safe_load(read_text(path))
        return model.model_validate(data)
    except yaml.YAMLError as exc:
        raise DataFileError(f"{path}: not valid YAML ({first_error_line(exc)})") from None
    except ValidationError as exc:
        raise DataFileError(f"{path}: {validation_line(exc, model)}") from None
