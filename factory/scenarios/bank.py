"""Scenario sources for `factory generate`: `SampledScenarios` draws them on the fly from the
persona data (template situations, no model, no dedup); `ScenarioBank` reads a prepared
scenarios.jsonl (from `factory personas sample`). Both give the same scenario for the same
(seed, index), so dialogue ids are stable across reruns and a larger n only adds."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pydantic import ValidationError

from factory.errors import DataFileError, first_error_line
from factory.models import Scenario
from factory.resources import read_text
from factory.scenarios.persona_bank import PersonaBank
from factory.scenarios.population import stratum
from factory.scenarios.sampler import DeadEnd, PersonaDraw, PersonaSampler, scenario_from
from factory.scenarios.situations import TemplateWriter


class ScenarioSource(Protocol):
    def scenarios(self, n: int, seed: int) -> list[Scenario]: ...


def draft_rng(seed: int, index: int, attempt: int = 0) -> random.Random:
    """The random stream of scenario `index` (and its dedup retry `attempt`)."""
    return random.Random(f"scenario:{seed}:{index}:{attempt}")


_DRAFT_TRIES = 50


@dataclass
class Implausible:
    """A draft the plausibility check turned away, and the rules it broke."""

    scenario: Scenario
    rules: list[str]


class ScenarioDraws:
    """The persona draws of a seed's first n scenarios: scenario `index` takes the index-th
    cell of the seed's cell sequence and, for dedup attempt `attempt`, its persona from
    draft_rng(seed, index, attempt). The one draw behind both the on-the-fly sampler and
    `factory personas sample`, so both give the same scenarios for the same seed."""

    def __init__(self, sampler: PersonaSampler, seed: int, n: int) -> None:
        self.sampler = sampler
        self.seed = seed
        self.writer = TemplateWriter(sampler)
        cells = sampler.cell_sequence(seed)
        self.cells = [next(cells) for _ in range(n)]

    def draw(self, index: int, attempt: int = 0) -> tuple[PersonaDraw, random.Random]:
        """The persona of scenario `index`, and the random stream its situation goes on with."""
        rng = draft_rng(self.seed, index, attempt)
        return self.sampler.draw(rng, self.cells[index], stratum(self.seed, index)), rng

    def template(self, index: int, attempt: int = 0) -> tuple[Scenario, list[Implausible]]:
        """Scenario `index` with a template situation that breaks no plausibility rule, and
        the drafts turned away on the way (each redrawn from the same stream)."""
        rng = draft_rng(self.seed, index, attempt)
        checker = self.sampler.checker
        turned_away: list[Implausible] = []
        for _ in range(_DRAFT_TRIES):
            draw = self.sampler.draw(rng, self.cells[index], stratum(self.seed, index))
            scenario = scenario_from(draw, *self.writer.write(draw, rng))
            broken = checker.broken(scenario)
            if not broken:
                return scenario, turned_away
            turned_away.append(Implausible(scenario, broken))
        raise DeadEnd(
            f"no plausible scenario for {' x '.join(self.cells[index])} after {_DRAFT_TRIES}"
            f" drafts (last broke {', '.join(turned_away[-1].rules)}): fix the events in"
            " personas/situations.yaml or the rules in personas/constraints.yaml"
        )


class SampledScenarios:
    """The stratified sampler with template situations: what `factory personas sample
    --no-dedup` writes for the same seed, without the file."""

    def __init__(self, bank: PersonaBank | None = None) -> None:
        self.bank = bank or PersonaBank()
        self.sampler = PersonaSampler(self.bank)
        self.turned_away: Counter[str] = Counter()

    def scenarios(self, n: int, seed: int) -> list[Scenario]:
        draws = ScenarioDraws(self.sampler, seed, n)
        found = []
        for index in range(n):
            scenario, turned_away = draws.template(index)
            self.turned_away.update(r for draft in turned_away for r in draft.rules)
            found.append(scenario)
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
