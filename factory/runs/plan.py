"""A run's plan: the dialogues it was asked for, in order. Each session records it (a count
and a hash of the ids) and checks that it plans the recorded dialogues first, so an edited
scenario bank is refused rather than mixed with what the run already holds."""

from __future__ import annotations

import hashlib
from pathlib import Path

from factory.errors import RunDirError
from factory.models import Scenario
from factory.runs.run_dir import PlanRecord, RunManifest


def plan_record(wanted: list[tuple[str, Scenario]]) -> PlanRecord:
    """How many dialogues were planned, and a hash of their ids in order."""
    ids = "\n".join(dlg_id for dlg_id, _ in wanted)
    return PlanRecord(n=len(wanted), sha256=hashlib.sha256(ids.encode()).hexdigest()[:16])


def check_plan(
    previous: RunManifest | None, wanted: list[tuple[str, Scenario]], out_dir: Path
) -> None:
    """A session must plan the previous sessions' dialogues first: a scenario bank edited in
    place would otherwise mix stale dialogues with new ones. (A smaller --n than before is
    not checked: its plan is shorter than what was recorded.)"""
    before = previous.plan if previous else None
    if before is None or len(wanted) < before.n:
        return
    if plan_record(wanted[: before.n]) != before:
        raise RunDirError(
            f"{out_dir} was made from other scenarios (its first {before.n} planned dialogues"
            " differ: was the scenario bank edited?): pass a new --out, or restore the bank"
        )


def longer_plan(previous: RunManifest | None, current: PlanRecord) -> PlanRecord:
    """The plan to record: the longer of this session's and the one before it."""
    before = previous.plan if previous else None
    return before if before is not None and before.n > current.n else current
