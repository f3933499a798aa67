"""Scenario sources for `factory generate`: `SampledScenarios` draws them on the fly from the
persona data (template situations, no model, no dedup); `ScenarioBank` reads a prepared
scenarios.jsonl (from `factory personas sample`). Both give the same scenario for the same
(seed, index), so dialogue ids are stable across reruns and a larger n only adds. Both
stream: `stream(n, seed)` draws (or reads) one scenario at a time, so a run of a million
starts at once and holds only what is in flight."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pydantic import ValidationError

from factory.errors import DataFileError, first_error_line
from factory.models import Scenario
from factory.scenarios.persona_bank import PersonaBank
from factory.scenarios.population import stratum
from factory.scenarios.sampler import Cell, DeadEnd, PersonaDraw, PersonaSampler, scenario_from
from factory.scenarios.situations import TemplateWriter


class ScenarioSource(Protocol):
    def scenarios(self, n: int, seed: int) -> list[Scenario]: ...

    def stream(self, n: int, seed: int) -> Iterator[Scenario]:
        """The same n scenarios, in order, drawn one at a time. Problems found up front
        (a bank too short) are raised on the call, not on the first draw."""
        ...


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
        self._sequence = sampler.cell_sequence(seed)
        self.cells: list[Cell] = []
        self.n = n

    def cell(self, index: int) -> Cell:
        """The index-th cell of the seed's sequence (drawn as far as asked, then kept)."""
        while len(self.cells) <= index:
            self.cells.append(next(self._sequence))
        return self.cells[index]

    def draw(self, index: int, attempt: int = 0) -> tuple[PersonaDraw, random.Random]:
        """The persona of scenario `index`, and the random stream its situation goes on with."""
        rng = draft_rng(self.seed, index, attempt)
        return self.sampler.draw(rng, self.cell(index), stratum(self.seed, index)), rng

    def template(self, index: int, attempt: int = 0) -> tuple[Scenario, list[Implausible]]:
        """Scenario `index` with a template situation that breaks no plausibility rule, and
        the drafts turned away on the way (each redrawn from the same stream)."""
        return self.template_in(self.cell(index), index, attempt)

    def template_in(
        self, cell: Cell, index: int, attempt: int = 0
    ) -> tuple[Scenario, list[Implausible]]:
        """`template` for a cell already known (a stream walks the sequence itself)."""
        rng = draft_rng(self.seed, index, attempt)
        checker = self.sampler.checker
        turned_away: list[Implausible] = []
        for _ in range(_DRAFT_TRIES):
            draw = self.sampler.draw(rng, cell, stratum(self.seed, index))
            scenario = scenario_from(draw, *self.writer.write(draw, rng))
            broken = checker.broken(scenario)
            if not broken:
                return scenario, turned_away
            turned_away.append(Implausible(scenario, broken))
        raise DeadEnd(
            f"no plausible scenario for {' x '.join(cell)} after {_DRAFT_TRIES}"
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
        return list(self.stream(n, seed))

    def stream(self, n: int, seed: int) -> Iterator[Scenario]:
        draws = ScenarioDraws(self.sampler, seed, n)
        cells = self.sampler.cell_sequence(seed)  # walked here, not kept: flat in n
        for index in range(n):
            scenario, turned_away = draws.template_in(next(cells), index)
            self.turned_away.update(r for draft in turned_away for r in draft.rules)
            yield scenario


def read_scenarios(path: Path, limit: int | None = None) -> list[Scenario]:
    """Scenarios from a .jsonl bank (the first `limit` of them), one error line per problem."""
    _check_bank(path)
    return list(_bank_lines(path, limit))


def _check_bank(path: Path) -> None:
    if not path.is_file():
        raise DataFileError(
            f"scenario file {path} not found: pass an existing .jsonl to --scenarios"
        )
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise DataFileError(f"cannot read {path} ({exc.strerror or type(exc).__name__})") from None


def _bank_lines(path: Path, limit: int | None) -> Iterator[Scenario]:
    count = 0
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if limit is not None and count >= limit:
                return
            if not raw.strip():
                continue
            try:
                scenario = Scenario.model_validate_json(raw)
            except ValidationError as exc:
                raise DataFileError(f"{path}:{number}: {first_error_line(exc)}") from None
            count += 1
            yield scenario


def count_scenarios(path: Path) -> int:
    """Non-empty lines of a bank, counted without parsing them (but checked as UTF-8)."""
    count = 0
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataFileError(
                    f"{path}:{number}: not UTF-8 text (byte {exc.start}): save it as UTF-8"
                ) from None
            count += bool(raw.strip())
    return count


class ScenarioBank:
    """A prepared scenarios.jsonl (one Scenario per line); the first n lines are used."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def scenarios(self, n: int, seed: int) -> list[Scenario]:
        return list(self.stream(n, seed))

    def stream(self, n: int, seed: int) -> Iterator[Scenario]:
        _check_bank(self.path)
        held = count_scenarios(self.path)
        if held < n:
            raise DataFileError(
                f"{self.path} holds {held} scenarios but --n asks for {n}: lower --n or add scenarios"
            )
        return _bank_lines(self.path, n)


def scenario_source(path: str | None) -> ScenarioSource:
    return ScenarioBank(Path(path)) if path else SampledScenarios()
