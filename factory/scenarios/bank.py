"""Scenario sources for `factory generate`: `SampledScenarios` draws them on the fly from the
persona data (template situations, no model, no dedup); `ScenarioBank` reads a prepared
scenarios.jsonl (from `factory personas sample`). Both give the same scenario for the same
(seed, index), so dialogue ids are stable across reruns and a larger n only adds."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Protocol

from pydantic import ValidationError

from factory.errors import DataFileError, first_error_line
from factory.models import Scenario
from factory.resources import read_text
from factory.scenarios.persona_bank import PersonaBank
from factory.scenarios.sampler import PersonaDraw, PersonaSampler, scenario_from
from factory.scenarios.situations import TemplateWriter


class ScenarioSource(Protocol):
    def scenarios(self, n: int, seed: int) -> list[Scenario]: ...


def draft_rng(seed: int, index: int, attempt: int = 0) -> random.Random:
    """The random stream of scenario `index` (and its dedup retry `attempt`)."""
    return random.Random(f"scenario:{seed}:{index}:{attempt}")


class ScenarioDraws:
    """The persona draws of a seed's first n scenarios: scenario `index` takes the index-th
    cell of the seed's cell sequence and, for dedup attempt `attempt`, its persona from
    draft_rng(seed, index, attempt). The one draw behind both the on-the-fly sampler and
    `factory personas sample`, so both give the same scenarios for the same seed."""

    def __init__(self, sampler: PersonaSampler, seed: int, n: int) -> None:
        self.sampler = sampler
        self.seed = seed
        cells = sampler.cell_sequence(seed)
        self.cells = [next(cells) for _ in range(n)]

    def draw(self, index: int, attempt: int = 0) -> tuple[PersonaDraw, random.Random]:
        """The persona of scenario `index`, and the random stream its situation goes on with."""
        rng = draft_rng(self.seed, index, attempt)
        return self.sampler.draw(rng, self.cells[index]), rng


class SampledScenarios:
    """The stratified sampler with template situations: what `factory personas sample
    --no-dedup` writes for the same seed, without the file."""

    def __init__(self, bank: PersonaBank | None = None) -> None:
        self.bank = bank or PersonaBank()
        self.sampler = PersonaSampler(self.bank)
        self.writer = TemplateWriter(self.bank)

    def scenarios(self, n: int, seed: int) -> list[Scenario]:
        draws = ScenarioDraws(self.sampler, seed, n)
        found = []
        for index in range(n):
            draw, rng = draws.draw(index)
            found.append(scenario_from(draw, *self.writer.write(draw, rng)))
        return found


def read_scenarios(path: Path, limit: int | None = None) -> list[Scenario]:
    """Scenarios from a .jsonl bank (the first `limit` of them), one error line per problem."""
    if not path.is_file():
        raise DataFileError(
            f"scenario file {path} not found: pass an existing .jsonl to --scenarios"
        )
    found: list[Scenario] = []
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if limit is not None and len(found) >= limit:
            break
        if not line.strip():
            continue
        try:
            found.append(Scenario.model_validate_json(line))
        except ValidationError as exc:
            raise DataFileError(f"{path}:{number}: {first_error_line(exc)}") from None
    return found


class ScenarioBank:
    """A prepared scenarios.jsonl (one Scenario per line); the first n lines are used."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def scenarios(self, n: int, seed: int) -> list[Scenario]:
        found = read_scenarios(self.path, n)
        if len(found) < n:
            raise DataFileError(
                f"{self.path} holds {len(found)} scenarios but --n asks for {n}: lower --n or add scenarios"
            )
        return found


def scenario_source(path: str | None) -> ScenarioSource:
    return ScenarioBank(Path(path)) if path else SampledScenarios()
