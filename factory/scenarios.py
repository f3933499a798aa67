"""Scenario sources: where the seekers come from. `BuiltinSampler` draws from
personas/builtin.yaml; `ScenarioBank` reads a prepared scenarios.jsonl. Both give the same
scenario for the same (seed, index), so dialogue ids are stable across reruns."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Protocol

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from factory.errors import DataFileError, first_error_line
from factory.models import Persona, Scenario
from factory.resources import data_dir, read_text


class ScenarioSource(Protocol):
    def scenarios(self, n: int, seed: int) -> list[Scenario]: ...


class _Problem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str
    emotions: list[str] = Field(min_length=1)
    situations: list[str] = Field(min_length=1)
    applies_to_age: tuple[int, int] = (0, 200)


class _Bank(BaseModel):
    model_config = ConfigDict(extra="forbid")

    personas: list[Persona] = Field(min_length=1)
    problems: list[_Problem] = Field(min_length=1)


def scenario_id(persona_id: str, problem: str, emotion: str, intensity: int, situation: str) -> str:
    key = json.dumps([persona_id, problem, emotion, intensity, situation])
    return "sc-" + hashlib.sha256(key.encode()).hexdigest()[:12]


class BuiltinSampler:
    """Seeded draws of persona x problem x emotion x intensity x situation from a YAML bank;
    each index has its own random stream, so growing n keeps the first scenarios."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or data_dir("personas") / "builtin.yaml"
        try:
            self.bank = _Bank.model_validate(yaml.safe_load(read_text(self.path)))
        except (yaml.YAMLError, ValidationError) as exc:
            raise DataFileError(f"{self.path}: {first_error_line(exc)}") from None

    def scenarios(self, n: int, seed: int) -> list[Scenario]:
        return [self._draw(seed, i) for i in range(n)]

    def _draw(self, seed: int, index: int) -> Scenario:
        rng = random.Random(f"builtin:{seed}:{index}")
        for _ in range(100):
            persona = rng.choice(self.bank.personas)
            problem = rng.choice(self.bank.problems)
            low, high = problem.applies_to_age
            if low <= persona.age <= high:
                break
        emotion = rng.choice(problem.emotions)
        intensity = rng.choice([3, 4, 4, 5])
        situation = rng.choice(problem.situations)
        return Scenario(
            id=scenario_id(persona.id, problem.type, emotion, intensity, situation) + f"-{index}",
            persona=persona,
            problem_type=problem.type,
            emotion_type=emotion,
            initial_intensity=intensity,
            situation=situation,
        )


class ScenarioBank:
    """A prepared scenarios.jsonl (one Scenario per line); the first n lines are used."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def scenarios(self, n: int, seed: int) -> list[Scenario]:
        if not self.path.is_file():
            raise DataFileError(
                f"scenario file {self.path} not found: pass an existing .jsonl to --scenarios"
            )
        found: list[Scenario] = []
        for number, line in enumerate(read_text(self.path).splitlines(), start=1):
            if len(found) >= n:
                break
            if not line.strip():
                continue
            try:
                found.append(Scenario.model_validate_json(line))
            except ValidationError as exc:
                raise DataFileError(f"{self.path}:{number}: {first_error_line(exc)}") from None
        if len(found) < n:
            raise DataFileError(
                f"{self.path} holds {len(found)} scenarios but --n asks for {n}: lower --n or add scenarios"
            )
        return found


def scenario_source(path: str | None) -> ScenarioSource:
    return ScenarioBank(Path(path)) if path else BuiltinSampler()
