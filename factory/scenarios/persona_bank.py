"""The persona data files (personas/*.yaml): attribute pools, problems, emotions, the
plausibility rules, households, cues, situation events, the population shares and the
name and job-title library, validated at load. A bad file
fails with one line naming the file and the key: an unknown field, an empty pool, a rule
or template naming a value that does not exist."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, TypeVar, get_args

import yaml
from pydantic import BaseModel, Field, ValidationError, model_validator

from factory.errors import DataFileError, first_error_line
from factory.resources import data_dir, read_text
from factory.scenarios.cues import Cues
from factory.scenarios.events import BUILT_IN_SLOTS, Situations, slots_of
from factory.scenarios.household import HouseholdData
from factory.scenarios.job_titles import JobTitle, JobTitleData, JobTitles
from factory.scenarios.names import NameLibrary, NameSources
from factory.scenarios.population import Population
from factory.scenarios.rules import Conditions, Range, Rules, Strict
from factory.settings import validation_line


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


OccupationKind = Literal["job", "self_employed", "student", "home", "jobless", "retired"]
WORKING: tuple[OccupationKind, ...] = ("job", "self_employed")


class Work(Strict):
    """Words that weave a job into a situation; the defaults fit any job title."""

    at_work: str = "at work"
    boss: str = "my manager"
    shifts: str = "my hours"
    colleague: str = "a colleague"
    business: str = "my business"
    clients: str = "my biggest client"


class Occupation(AgeRange):
    name: str
    min_age: int = Field(default=10, ge=10, le=100)
    max_age: int = Field(default=100, ge=10, le=100)
    kind: OccupationKind = "job"
    weight: float = Field(default=1.0, ge=0, description="how often it is drawn where it fits")
    work: Work | None = None

    def bounds(self) -> tuple[int, int]:
        return self.min_age, self.max_age

    @property
    def works(self) -> bool:
        return self.kind in WORKING

    def slot_words(self) -> dict[str, str]:
        """The work slots a situation may name for this occupation."""
        work = self.work or Work()
        if self.kind == "job":
            return {"at_work": work.at_work, "boss": work.boss, "shifts": work.shifts,
                    "colleague": work.colleague}  # fmt: skip
        if self.kind == "self_employed":
            return {"business": work.business, "clients": work.clients}
        return {}

    @model_validator(mode="after")
    def _work_words(self) -> Occupation:
        if self.work is not None and not self.works:
            raise ValueError(f"{self.name}: `work` words need kind job or self_employed")
        return self


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
    min_days: int | None = Field(
        default=None, ge=0, description="a lasting problem: how long it has gone on at least"
    )


class Problems(Strict):
    problems: list[Problem] = Field(min_length=1)


class Emotion(Strict):
    name: str
    family: str
    description: str = Field(min_length=1)
    esconv_weight: int | None = Field(default=None, ge=0)


class Emotions(Strict):
    emotions: list[Emotion] = Field(min_length=1)


class Library(Strict):
    names: NameSources
    jobs: JobTitleData


class PersonaBank:
    """All persona data, cross-checked: every name a rule, template or cue uses exists."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or data_dir("personas")
        self.attributes = load_data_file(self.directory / "attributes.yaml", Attributes)
        self.problems = load_data_file(self.directory / "problems.yaml", Problems).problems
        self.emotions = load_emotions(self.directory)
        self.rules = load_data_file(self.directory / "constraints.yaml", Rules).rules
        self.household = load_data_file(self.directory / "household.yaml", HouseholdData)
        self.cues = load_data_file(self.directory / "cues.yaml", Cues)
        self.situations = load_data_file(self.directory / "situations.yaml", Situations)
        self.population = load_data_file(self.directory / "population.yaml", Population)
        self.library = load_data_file(self.directory / "library.yaml", Library)
        self.occupations = {o.name: o for o in self.attributes.occupations}
        self.names = NameLibrary(self.library.names)
        self.job_titles = _job_titles(self.directory / "library.yaml", self.library.jobs)
        self._cross_check()

    def occupation_of(self, title: str) -> tuple[Occupation, JobTitle | None] | None:
        """The occupation group of a persona's occupation (a group's own name, or a library
        job title) and the title's entry; None for an occupation the data does not know."""
        if title in self.occupations:
            return self.occupations[title], None
        job = self.job_titles.get(title)
        if job is None:
            return None
        return self.occupations[job.group], job

    def values(self, field: str) -> list[str]:
        """The allowed values of a categorical fact."""
        a = self.attributes
        pools: dict[str, list[str]] = {
            "age_band": [b.name for b in a.age_bands],
            "gender": a.genders,
            "occupation": [o.name for o in a.occupations],
            "occupation_kind": list(get_args(OccupationKind)),
            "life_stage": [s.name for s in a.life_stages],
            "living_situation": a.living_situations,
            "coping_style": a.coping_styles,
            "disclosure": [d.name for d in a.disclosure],
            "verbosity": [v.name for v in a.verbosity],
            "cultural_background": a.cultural_backgrounds,
            "problem": [p.name for p in self.problems],
            "emotion": [e.name for e in self.emotions],
            "mentions": list(self.cues.cues),
        }
        return pools[field]

    def emotion(self, name: str) -> Emotion:
        return next(e for e in self.emotions if e.name == name)

    def problem(self, name: str) -> Problem:
        return next(p for p in self.problems if p.name == name)

    def _cross_check(self) -> None:
        self._check_problems_and_emotions()
        for i, rule in enumerate(self.rules):
            for part in ("when", "unless", "exclude", "require"):
                self._check_conditions(
                    self.directory / "constraints.yaml", f"rules.{i}.{part}", getattr(rule, part)
                )
        for i, friend in enumerate(self.household.friends):
            self._check_conditions(
                self.directory / "household.yaml", f"friends.{i}.needs", friend.needs
            )
        path = self.directory / "cues.yaml"
        for name in self.cues.problems:
            if name not in set(self.values("problem")):
                raise DataFileError(
                    f"{path}: problems.{name}: unknown problem (not in problems.yaml)"
                )
        check_situations(self)
        check_population(self)
        check_library(self)

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

    def _check_conditions(self, path: Path, where: str, conditions: Conditions) -> None:
        for field, allowed in conditions.items():
            if isinstance(allowed, Range):
                continue
            known = set(self.values(field))
            for value in allowed:
                if value not in known:
                    raise DataFileError(f"{path}: {where}.{field}: unknown value '{value}'")


def check_situations(bank: PersonaBank) -> None:
    """Every template names known problems, emotions, slots, needs and people."""
    path = bank.directory / "situations.yaml"
    situations = bank.situations
    problem_names = set(bank.values("problem"))
    slots = BUILT_IN_SLOTS | set(situations.fillers)
    kinds = {r.kind for r in bank.household.relations} | {"partner", "friend", "housemate"}
    for name, entry in situations.problems.items():
        if name not in problem_names:
            raise DataFileError(f"{path}: problems.{name}: unknown problem (not in problems.yaml)")
        plausible = set(bank.problem(name).emotions)
        for text in situations.texts(name):
            try:
                unknown = sorted(slots_of(text) - slots)
            except ValueError as exc:
                raise DataFileError(f"{path}: problems.{name}: {exc} in {text!r}") from None
            if unknown:
                raise DataFileError(
                    f"{path}: problems.{name}: unknown slot '{{{unknown[0]}}}' in {text!r}"
                    f" (fillers: {', '.join(sorted(situations.fillers))})"
                )
        phrases = [("consequences", c) for c in entry.consequences]
        for event in entry.events:
            where = f"problems.{name}.{event.id}"
            odd = sorted(set(event.emotions) - plausible)
            if odd:
                raise DataFileError(
                    f"{path}: {where}.emotions: '{odd[0]}' is not an emotion problems.yaml"
                    f" lists for {name}"
                )
            bank._check_conditions(path, f"{where}.needs", event.needs)
            if event.who and (strange := sorted(set(event.who.kinds) - kinds)):
                raise DataFileError(
                    f"{path}: {where}.who.kinds: unknown kind '{strange[0]}'"
                    f" (known: {', '.join(sorted(kinds))})"
                )
            phrases += [(f"{event.id}.consequences", c) for c in event.consequences]
        for where, phrase in phrases:
            bank._check_conditions(path, f"problems.{name}.{where}.needs", phrase.needs)
            if odd := sorted(set(phrase.emotions) - plausible):
                raise DataFileError(
                    f"{path}: problems.{name}.{where}: emotion '{odd[0]}' is not one problems.yaml"
                    f" lists for {name}"
                )
    missing = sorted(problem_names - set(situations.problems))
    if missing:
        raise DataFileError(f"{path}: problems: no events for problem(s) {', '.join(missing)}")


def check_population(bank: PersonaBank) -> None:
    """The shares name every age band, gender and living situation, and nothing else."""
    path = bank.directory / "population.yaml"
    p = bank.population
    for key, shares, pool in (
        ("age_bands", p.age_bands, bank.values("age_band")),
        ("genders", p.genders, bank.values("gender")),
        *((f"living_situations.{band}", s, bank.values("living_situation"))
          for band, s in p.living_situations.items()),
    ):  # fmt: skip
        if unknown := sorted(set(shares) - set(pool)):
            raise DataFileError(f"{path}: {key}: unknown value '{unknown[0]}'")
        if any(v < 0 for v in shares.values()) or sum(shares.values()) <= 0:
            raise DataFileError(f"{path}: {key}: shares must be >= 0 with a positive sum")
    for key, named, pool in (
        ("age_bands", set(p.age_bands), bank.values("age_band")),
        ("genders", set(p.genders), bank.values("gender")),
        ("living_situations", set(p.living_situations), bank.values("age_band")),
    ):
        if unknown := sorted(named - set(pool)):
            raise DataFileError(f"{path}: {key}: unknown value '{unknown[0]}'")
        if missing := sorted(set(pool) - named):
            raise DataFileError(
                f"{path}: {key}: no share for '{missing[0]}' (use 0 to rule it out)"
            )


def check_library(bank: PersonaBank) -> None:
    """Every cultural background has names from real Faker locales; job groups exist."""
    path = bank.directory / "library.yaml"
    names, jobs = bank.library.names, bank.library.jobs
    if missing := sorted(set(bank.values("cultural_background")) - set(names)):
        raise DataFileError(f"{path}: names: no locale for cultural background '{missing[0]}'")
    if unknown := sorted(set(names) - set(bank.values("cultural_background"))):
        raise DataFileError(f"{path}: names: unknown cultural background '{unknown[0]}'")
    if problem := bank.names.problem():
        raise DataFileError(f"{path}: {problem}")
    for group in (jobs.default_group, *jobs.groups):
        occupation = bank.occupations.get(group)
        if occupation is None or occupation.kind != "job":
            raise DataFileError(
                f"{path}: jobs: '{group}' is not an occupation of kind job in attributes.yaml"
            )


def _job_titles(path: Path, jobs: JobTitleData) -> JobTitles:
    try:
        return JobTitles(jobs)
    except ModuleNotFoundError:
        raise DataFileError(
            f"{path}: jobs.locale: Faker has no job titles for '{jobs.locale}'"
        ) from None


def load_emotions(directory: Path | None = None) -> list[Emotion]:
    """The emotions of a persona data folder (the shipped one by default), read alone."""
    folder = directory or data_dir("personas")
    return load_data_file(folder / "emotions.yaml", Emotions).emotions


def load_data_file(path: Path, model: type[M]) -> M:
    """One persona data file, read into `model`; one line saying what is wrong if it cannot be."""
    if not path.is_file():
        raise DataFileError(f"{path} not found: restore it or pass a complete personas folder")
    try:
        data = yaml.safe_load(read_text(path))
        return model.model_validate(data)
    except yaml.YAMLError as exc:
        raise DataFileError(f"{path}: not valid YAML ({first_error_line(exc)})") from None
    except ValidationError as exc:
        raise DataFileError(f"{path}: {validation_line(exc, model)}") from None
