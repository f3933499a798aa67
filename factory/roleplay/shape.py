"""The shape of a dialogue: how long it runs, who greets first, which phase each exchange is
in, and how many words each message gets. All of it is data (prompts/shapes/, phases.yaml,
registers.yaml, supporters.yaml, platform.yaml); this module draws from it, seeded per
dialogue, so a dialogue's plan is a pure function of its id."""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from factory.errors import DataFileError, first_error_line
from factory.models import DialoguePlan, Persona, Role, SupporterPersona
from factory.resources import data_dir, named_yaml, read_text
from factory.settings import load_yaml

Phase = str  # one of taxonomy.PHASES


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WordRange(_Data):
    low: float = Field(gt=0, le=1)
    high: float = Field(ge=1, le=3)


class ShapeProfile(_Data):
    """A dialogue-shape profile (prompts/shapes/*.yaml)."""

    name: str
    exchanges: dict[int, float] = Field(min_length=1)
    supporter_first_share: float = Field(ge=0, le=1)
    closing_reply_share: float = Field(ge=0, le=1)
    seeker_messages: dict[int, float] = Field(min_length=1)
    words: dict[Role, list[int]]
    range: WordRange
    verbosity: dict[str, float] = Field(default_factory=dict)
    multi_message_scale: dict[int, float] = Field(default_factory=dict)
    short_phases: dict[str, int] = Field(default_factory=dict)
    phases: dict[str, float]
    close_window: int = Field(ge=0, le=20)
    asks_advice_share: float = Field(ge=0, le=1)

    @model_validator(mode="after")
    def _sane(self) -> ShapeProfile:
        if any(k < 1 for k in self.exchanges) or any(v < 0 for v in self.exchanges.values()):
            raise ValueError("exchanges: lengths must be >= 1 and weights >= 0")
        if not 1 <= min(self.seeker_messages) <= max(self.seeker_messages) <= 5:
            raise ValueError("seeker_messages: message counts must be 1 to 5")
        for role in ("seeker", "supporter"):
            deciles = self.words.get(role) or []
            if len(deciles) != 9 or deciles != sorted(deciles) or deciles[0] < 1:
                raise ValueError(f"words.{role}: nine ascending deciles (word counts >= 1)")
        if set(self.phases) != {"exploration", "comforting", "action"}:
            raise ValueError("phases: give exploration, comforting and action start shares")
        if not self.phases["exploration"] <= self.phases["comforting"] <= self.phases["action"]:
            raise ValueError("phases: start shares must not decrease")
        return self


def _load_yaml(path: Path, what: str) -> Any:
    if not path.is_file():
        raise DataFileError(f"{what} file not found: {path}")
    try:
        return load_yaml(read_text(path))
    except yaml.YAMLError as exc:
        raise DataFileError(f"{path}: not valid YAML ({first_error_line(exc)})") from None


def load_shape(name_or_path: str) -> ShapeProfile:
    path = named_yaml("prompts/shapes", name_or_path, "dialogue shape")
    try:
        return ShapeProfile.model_validate(_load_yaml(path, "shape"))
    except ValidationError as exc:
        raise DataFileError(f"{path}: not a valid shape ({first_error_line(exc)})") from None


class Register(_Data):
    name: str
    description: str
    weights: list[float] = Field(min_length=3, max_length=3)


class SupporterPool(_Data):
    names: list[str] = Field(min_length=1)
    age_bands: list[str] = Field(min_length=1)
    experiences: list[str] = Field(min_length=3)


class Platform(_Data):
    name: str
    facts: list[str] = Field(min_length=1)


class PhaseTexts(_Data):
    """What each role is told in each phase (prompts/phases.yaml)."""

    opening: dict[str, str]
    exploration: dict[str, str]
    comforting: dict[str, str]
    action: dict[str, str]
    closing: dict[str, str]
    near_end: str
    last_seeker: str

    def text(self, phase: Phase, key: str) -> str:
        texts: dict[str, str] = getattr(self, phase)
        return texts.get(key, "")


def _load_model(directory: Path, filename: str, model: type[BaseModel]) -> Any:
    """A data file from `directory`, or the shipped one when the folder has none (a custom
    prompts_dir need only hold what it changes)."""
    path = directory / filename
    if not path.is_file():
        path = data_dir("prompts") / filename
    try:
        data = _load_yaml(path, filename)
        if isinstance(data, list):
            return [model.model_validate(item) for item in data]
        return model.model_validate(data)
    except ValidationError as exc:
        raise DataFileError(f"{path}: {first_error_line(exc)}") from None


@dataclass(frozen=True)
class ShapeData:
    """Everything the loop draws a dialogue's plan and prompts from."""

    profile: ShapeProfile
    phase_texts: PhaseTexts
    registers: list[Register]
    supporters: SupporterPool
    platform: Platform

    @classmethod
    def load(cls, shape: str, prompts_dir: Path | None) -> ShapeData:
        directory = prompts_dir or data_dir("prompts")
        registers = _load_model(directory, "registers.yaml", Register)
        if not registers:
            raise DataFileError(f"{directory / 'registers.yaml'}: lists no registers")
        return cls(
            profile=load_shape(shape),
            phase_texts=_load_model(directory, "phases.yaml", PhaseTexts),
            registers=registers,
            supporters=_load_model(directory, "supporters.yaml", SupporterPool),
            platform=_load_model(directory, "platform.yaml", Platform),
        )


@dataclass(frozen=True)
class ShapeOverrides:
    """Config values that replace the profile's (None: use the profile)."""

    min_exchanges: int
    max_exchanges: int
    target_exchanges: int | None = None
    supporter_first_share: float | None = None
    closing_reply_share: float | None = None


def draw_plan(
    data: ShapeData, persona: Persona, overrides: ShapeOverrides, rng: random.Random
) -> tuple[DialoguePlan, SupporterPersona]:
    """The dialogue's plan and its supporter, from the dialogue's own random stream."""
    profile = data.profile
    if overrides.target_exchanges is not None:
        target = overrides.target_exchanges
    else:
        lengths = sorted(profile.exchanges)
        target = rng.choices(lengths, weights=[profile.exchanges[k] for k in lengths])[0]
    target = min(max(target, overrides.min_exchanges), overrides.max_exchanges)
    first_share = _pick(overrides.supporter_first_share, profile.supporter_first_share)
    reply_share = _pick(overrides.closing_reply_share, profile.closing_reply_share)
    age_group = (
        1 if persona.age is None else (0 if persona.age < 25 else 1 if persona.age < 55 else 2)
    )
    registers = data.registers
    register = rng.choices(registers, weights=[r.weights[age_group] for r in registers])[0]
    plan = DialoguePlan(
        shape=profile.name,
        target_exchanges=target,
        supporter_first=rng.random() < first_share,
        seeker_answers_closing=rng.random() < reply_share,
        seeker_asks_advice=rng.random() < profile.asks_advice_share,
        typing_style=register.description,
    )
    pool = data.supporters
    supporter = SupporterPersona(
        name=rng.choice(pool.names),
        age_band=rng.choice(pool.age_bands),
        experiences=rng.sample(pool.experiences, 3),
    )
    return plan, supporter


def platform_constants(platform: Platform) -> dict[str, Any]:
    """The template values that describe the service (counselor and supporter prompts)."""
    return {"platform_name": platform.name, "platform": platform.facts}


def load_platform(prompts_dir: Path | None) -> Platform:
    platform: Platform = _load_model(prompts_dir or data_dir("prompts"), "platform.yaml", Platform)
    return platform


def _pick(override: float | None, default: float) -> float:
    return default if override is None else override


def phase_of(exchange: int, target: int, profile: ShapeProfile) -> Phase:
    """The phase of a middle exchange (the opening and closing are decided by the loop)."""
    if exchange == 0:
        return "opening"
    share = exchange / max(1, target)
    starts = profile.phases
    if share >= starts["action"]:
        return "action"
    if share >= starts["comforting"]:
        return "comforting"
    return "exploration"


def word_budget(
    role: Role,
    phase: Phase,
    profile: ShapeProfile,
    rng: random.Random,
    verbosity: str | None,
    messages: int = 1,
) -> tuple[int, int]:
    """A word range for one message: a centre drawn from the role's per-message deciles
    (interpolated between them), scaled by the seeker's verbosity and by how many messages
    the turn has, shortened in the opening and closing, widened to the profile's range."""
    deciles = profile.words[role]
    centre = _quantile(deciles, rng.uniform(0.1, 0.9))
    if role == "seeker" and verbosity:
        centre *= profile.verbosity.get(verbosity, 1.0)
    centre *= profile.multi_message_scale.get(messages, 1.0)
    if (cap := profile.short_phases.get(phase)) is not None:
        centre = min(centre, cap)
    low = max(1, round(centre * profile.range.low))
    high = max(low + 2, round(centre * profile.range.high))
    return low, high


def _quantile(deciles: list[int], p: float) -> float:
    """Linear interpolation of the quantile function through deciles at 0.1, 0.2, ... 0.9."""
    points = [0.1 * (i + 1) for i in range(len(deciles))]
    if p <= points[0]:
        return float(deciles[0])
    if p >= points[-1]:
        return float(deciles[-1])
    i = bisect.bisect_right(points, p) - 1
    frac = (p - points[i]) / (points[i + 1] - points[i])
    return deciles[i] + frac * (deciles[i + 1] - deciles[i])


def message_count(profile: ShapeProfile, rng: random.Random) -> int:
    counts = sorted(profile.seeker_messages)
    return rng.choices(counts, weights=[profile.seeker_messages[k] for k in counts])[0]
