"""The run directory on disk: dialogues.jsonl (append + flush per dialogue), failures.jsonl
(dialogues the backend failed, retried on rerun), manifest.json (written atomically) and a
lock so that two runs never write to one directory.

A torn last line left by a crash (no newline at its end) is cut off with a warning and kept in
torn.log; damage anywhere else stops the run rather than guessing."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from pydantic import Field, ValidationError

from factory.errors import RunDirError
from factory.jsonl import model_line
from factory.models import Dialogue, Record, Usage

log = logging.getLogger(__name__)

DIALOGUES_FILE = "dialogues.jsonl"
FAILURES_FILE = "failures.jsonl"
MANIFEST_FILE = "manifest.json"
TORN_FILE = "torn.log"
LOCK_FILE = ".lock"

RunStatus = Literal["running", "complete", "incomplete", "interrupted", "budget_reached", "failed"]


class SessionRecord(Record):
    """One invocation of `factory generate` on this directory."""

    finished_at: str
    status: RunStatus
    resumed_from: int
    written: int
    backend_failures: int
    seconds: float
    usage: Usage
    calls_per_s: float
    concurrency: list[dict[str, Any]] | None = None  # under auto: each endpoint's limits


class RunCounts(Record):
    requested: int
    dialogues: int
    turns: int
    end_reasons: dict[str, int]
    backend_failures_logged: int


class PlanRecord(Record):
    """The dialogues a run was asked for, in order: how many, and a hash of their ids. A later
    session must plan the same ones first, so an edited scenario bank is never mixed in."""

    n: int
    sha256: str


class StrategyMixRecord(Record):
    """The run's strategy mix: the target, what the supporter turns on disk achieved, and
    their Jensen-Shannon divergence in bits."""

    target: dict[str, float]
    achieved: dict[str, float]
    control: bool
    supporter_turns: int
    jsd_bits: float | None = None


class RunManifest(Record):
    """What a run directory holds and how it was made. Usage totals include the calls of
    dialogues kept aside in failures.jsonl: failed work is paid for too."""

    tool: str = "esc-factory"
    tool_version: str
    created_at: str
    updated_at: str
    status: RunStatus
    fingerprint: str
    config: dict[str, Any]
    taxonomy: str
    prompt_hashes: dict[str, str]
    backend: dict[str, str] = Field(default_factory=dict)
    versions: dict[str, str] = Field(default_factory=dict)
    counts: RunCounts | None = None
    usage: Usage = Field(default_factory=Usage)
    sessions: list[SessionRecord] = Field(default_factory=list)
    plan: PlanRecord | None = None
    strategy_mix: StrategyMixRecord | None = None


@dataclass
class RunTally:
    """A run's files summed up: finished dialogues (ids, turns, end reasons, the supporter's
    strategies by phase) and the usage of everything, failures kept aside included. Built by
    `RunDir.tally` and kept up to date as a session writes, so the manifest's counts always
    come from the files without reading them twice."""

    ids: set[str] = field(default_factory=set)
    turns: int = 0
    end_reasons: Counter[str] = field(default_factory=Counter)
    strategies: Counter[tuple[str, str | None]] = field(default_factory=Counter)
    usage: Usage = field(default_factory=Usage)
    failures: int = 0

    @property
    def dialogues(self) -> int:
        return len(self.ids)

    def add(self, dialogue: Dialogue) -> None:
        self.ids.add(dialogue.id)
        self.turns += len(dialogue.turns)
        self.end_reasons[dialogue.end_reason] += 1
        self.usage.add(dialogue.generation.usage)
        for turn in dialogue.turns:
            if turn.role == "supporter" and turn.strategy:
                self.strategies[turn.strategy, turn.phase] += 1

    def add_failure(self, dialogue: Dialogue) -> None:
        self.failures += 1
        self.usage.add(dialogue.generation.usage)


class RunDir:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.dialogues_path = path / DIALOGUES_FILE
        self.failures_path = path / FAILURES_FILE
        self.manifest_path = path / MANIFEST_FILE
        self._created = False
        self._lock: IO[str] | None = None
        self._handles: dict[Path, IO[str]] = {}

    def prepare(self) -> None:
        """Create the folder, prove it is writable and take its lock, before any model call."""
        if self.path.exists() and not self.path.is_dir():
            raise RunDirError(f"{self.path} exists and is not a directory: pass another --out")
        self._created = not self.path.exists()
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.path, prefix=".write-test-"):
                pass
            self._lock = (self.path / LOCK_FILE).open("w")
        except OSError as exc:
            raise RunDirError(
                f"cannot write to {self.path} ({exc.strerror}): pass a writable --out"
            ) from None
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock.close()
            self._lock = None
            raise RunDirError(
                f"another run is writing to {self.path}: wait for it to finish or pass another --out"
            ) from None
        for path in (self.dialogues_path, self.failures_path, self.manifest_path):
            if path.exists() and not path.is_file():
                self.release()
                raise RunDirError(f"{path} is not a file: remove it or pass another --out")

    def in_use(self) -> bool:
        """Does a `factory generate` hold this directory's lock right now?"""
        lock = self.path / LOCK_FILE
        if not lock.is_file():
            return False
        with lock.open("rb") as handle:  # read-only: a finished run may sit on read-only storage
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
        return False

    def discard_if_unused(self) -> None:
        """Remove the folder again if this run created it and wrote nothing into it."""
        self.release()
        if not (self._created and self.path.is_dir()):
            return
        if {p.name for p in self.path.iterdir()} <= {LOCK_FILE}:
            with contextlib.suppress(OSError):
                (self.path / LOCK_FILE).unlink(missing_ok=True)
                self.path.rmdir()

    def read_manifest(self) -> RunManifest | None:
        if not self.manifest_path.is_file():
            return None
        try:
            return RunManifest.model_validate_json(self.manifest_path.read_bytes())
        except (OSError, ValidationError):
            raise RunDirError(
                f"{self.manifest_path} is not a manifest this version can read:"
                " pass another --out (or remove the file to start over)"
            ) from None

    def write_manifest(self, manifest: RunManifest) -> None:
        tmp = self.manifest_path.with_suffix(".json.tmp")
        tmp.write_text(manifest.model_dump_json(indent=2) + "\n")
        os.replace(tmp, self.manifest_path)

    def tally(self) -> RunTally:
        """What the run already holds, read one line at a time (memory flat in the file's
        length): the finished dialogues' ids, counts and usage, and the usage of the failures
        kept aside. A torn final line is cut off and kept in torn.log; a duplicate id stops."""
        tally = RunTally()
        for number, dialogue in self._read_jsonl(self.dialogues_path, repair=True):
            if dialogue.id in tally.ids:
                raise RunDirError(
                    f"{self.dialogues_path}: dialogue {dialogue.id} appears twice (line {number}):"
                    " remove the duplicate, then rerun"
                )
            tally.add(dialogue)
        for _, dialogue in self._read_jsonl(self.failures_path, repair=True):
            tally.add_failure(dialogue)
        return tally

    def _read_jsonl(self, path: Path, repair: bool) -> Iterator[tuple[int, Dialogue]]:
        """(line number, dialogue) for each record, streamed."""
        if not path.is_file():
            return
        try:
            handle = path.open("rb")
        except OSError as exc:
            raise RunDirError(f"cannot read {path} ({exc.strerror})") from None
        offset = 0
        line = b""
        torn: tuple[int, bytes] | None = None
        with handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    try:
                        dialogue = Dialogue.model_validate_json(line)
                    except ValidationError:
                        cut = not line.endswith(b"\n")  # only a crash mid-write leaves this
                        if not (cut and repair):
                            raise RunDirError(
                                f"{path}:{number} is not a valid dialogue: fix or remove that"
                                " line, then rerun"
                            ) from None
                        torn = (offset, line)
                        break
                    yield number, dialogue
                offset += len(line)
        if torn is not None:
            self._cut_torn_tail(path, *torn)
        elif repair and line and not line.endswith(b"\n"):
            # A whole record whose newline was lost (a crash or a full disk right before it):
            # end the line, or the next dialogue would be appended to it.
            self._end_last_line(path)

    def _end_last_line(self, path: Path) -> None:
        try:
            with path.open("ab") as handle:
                handle.write(b"\n")
        except OSError as exc:
            raise RunDirError(
                f"cannot write {path} ({exc.strerror}): free space or fix permissions"
            ) from None
        log.warning("%s: the last line had lost its newline; added it", path)

    def _cut_torn_tail(self, path: Path, offset: int, tail: bytes) -> None:
        with (self.path / TORN_FILE).open("ab") as keep:
            keep.write(tail + b"\n")
        with path.open("r+b") as handle:
            handle.truncate(offset)
        log.warning(
            "%s: cut off a torn last line (%d bytes) left by an interrupted run; kept in %s",
            path,
            len(tail),
            self.path / TORN_FILE,
        )

    def append(self, dialogue: Dialogue) -> None:
        """Write one dialogue as one line and flush it to the OS: a SIGKILL after this returns
        cannot lose it."""
        self._write_line(self.dialogues_path, dialogue)

    def append_failure(self, dialogue: Dialogue) -> None:
        """Keep a dialogue that failed for infrastructure reasons, for audit; it is not counted
        as finished, so a rerun tries it again."""
        self._write_line(self.failures_path, dialogue)

    def _write_line(self, path: Path, dialogue: Dialogue) -> None:
        handle = self._handles.get(path)
        if handle is None:
            handle = self._handles[path] = path.open("a", encoding="utf-8")
        handle.write(model_line(dialogue))
        handle.flush()

    def close(self) -> None:
        """Close the data files (the lock stays held until `release`)."""
        for handle in self._handles.values():
            handle.close()
        self._handles.clear()

    def release(self) -> None:
        self.close()
        if self._lock is not None:
            self._lock.close()  # closing the file releases the flock
            self._lock = None
