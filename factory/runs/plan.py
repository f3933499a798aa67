"""A run's plan: the dialogues it was asked for, in order, drawn lazily from the scenario
source. Each session records how far it drew (a count and a hash of the ids so far) and the
next session checks that it draws the recorded dialogues first, so an edited scenario bank is
refused rather than mixed with what the run already holds."""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Iterator
from pathlib import Path

from factory.errors import DataFileError, RunDirError
from factory.models import Scenario
from factory.roleplay.loop import dialogue_id
from factory.runs.run_dir import PlanRecord, RunManifest


class _PlanHash:
    """sha256 of the ids joined by newlines, fed one id at a time."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self.n = 0

    def add(self, dlg_id: str) -> None:
        self._hash.update((f"\n{dlg_id}" if self.n else dlg_id).encode())
        self.n += 1

    def record(self) -> PlanRecord:
        return PlanRecord(n=self.n, sha256=self._hash.hexdigest()[:16])


class Plan:
    """The run's first `n` (dialogue id, scenario) pairs, drawn one at a time; the record of
    what was drawn so far goes into the manifest. When the previous session recorded its plan,
    reaching that many draws checks the hash: a mismatch means the scenarios changed."""

    def __init__(self, scenarios: Iterator[Scenario], n: int, seed: int) -> None:
        self.n = n
        self._scenarios = scenarios
        self._seed = seed
        self._recorded: PlanRecord | None = None
        self._out_dir: Path | None = None
        self._hash = _PlanHash()
        self._seen: set[str] = set()  # scenario ids drawn so far
        self._ahead: deque[tuple[str, Scenario]] = deque()

    def expect(self, recorded: PlanRecord | None, out_dir: Path) -> None:
        """Check the draws against an earlier session's record when they reach its length."""
        self._recorded, self._out_dir = recorded, out_dir

    def prefetch(self, k: int) -> None:
        """Draw the next k scenarios now (so a broken source fails before anything is
        written); they are handed out, hashed and checked in order as usual."""
        while len(self._ahead) < k and self._hash.n + len(self._ahead) < self.n:
            self._ahead.append(self._draw())

    @property
    def drawn(self) -> int:
        return self._hash.n

    @property
    def exhausted(self) -> bool:
        return self._hash.n >= self.n

    def record(self, previous: RunManifest | None = None) -> PlanRecord:
        """What to record: how far this session drew, unless an earlier one drew further."""
        before = previous.plan if previous else None
        current = self._hash.record()
        return before if before is not None and before.n > current.n else current

    def __iter__(self) -> Iterator[tuple[str, Scenario]]:
        return self

    def __next__(self) -> tuple[str, Scenario]:
        if self._hash.n >= self.n:
            raise StopIteration
        dlg_id, scenario = self._ahead.popleft() if self._ahead else self._draw()
        self._hash.add(dlg_id)
        if self._recorded is not None and self._hash.n == self._recorded.n:
            self._check()
        return dlg_id, scenario

    def _draw(self) -> tuple[str, Scenario]:
        scenario = next(self._scenarios, None)
        if scenario is None:
            raise DataFileError(
                f"the scenario source ran out after {self._hash.n + len(self._ahead)} of"
                f" {self.n} scenarios: lower --n or add scenarios"
            )
        if scenario.id in self._seen:
            raise DataFileError(
                f"scenario id '{scenario.id}' appears twice: scenario ids must be unique"
            )
        self._seen.add(scenario.id)
        return dialogue_id(scenario, self._seed), scenario

    def _check(self) -> None:
        if self._hash.record() != self._recorded:
            raise RunDirError(
                f"{self._out_dir} was made from other scenarios (its first"
                f" {self._hash.n} planned dialogues differ: was the scenario bank edited?):"
                " pass a new --out, or restore the bank"
            )
