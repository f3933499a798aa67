"""The run directory on disk: dialogues.jsonl (append + flush per dialogue) and manifest.json
(written atomically). A torn last line left by a crash is cut off with a warning; damage
anywhere else stops the run rather than guessing."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from factory.errors import RunDirError
from factory.models import Dialogue

log = logging.getLogger(__name__)

DIALOGUES_FILE = "dialogues.jsonl"
MANIFEST_FILE = "manifest.json"
FAILURES_FILE = "failures.jsonl"


class RunDir:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.dialogues_path = path / DIALOGUES_FILE
        self.manifest_path = path / MANIFEST_FILE
        self.failures_path = path / FAILURES_FILE
        self._handle: IO[str] | None = None
        self._failures: IO[str] | None = None

    def prepare(self) -> None:
        """Create the folder and prove it is writable before any model call is made."""
        if self.path.exists() and not self.path.is_dir():
            raise RunDirError(f"{self.path} exists and is not a directory: pass another --out")
        self._created = not self.path.exists()
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.path, prefix=".write-test-"):
                pass
        except OSError as exc:
            raise RunDirError(
                f"cannot write to {self.path} ({exc.strerror}): pass a writable --out"
            ) from None

    def discard_if_unused(self) -> None:
        """Remove the folder again if this run created it and wrote nothing into it."""
        if getattr(self, "_created", False) and self.path.is_dir() and not any(self.path.iterdir()):
            self.path.rmdir()

    def read_manifest(self) -> dict[str, Any] | None:
        if not self.manifest_path.is_file():
            return None
        try:
            data = json.loads(self.manifest_path.read_text())
        except (OSError, json.JSONDecodeError):
            raise RunDirError(
                f"{self.manifest_path} is unreadable: remove it to start over, or pass another --out"
            ) from None
        return data if isinstance(data, dict) else None

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        tmp = self.manifest_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n")
        os.replace(tmp, self.manifest_path)

    def recover(self) -> list[Dialogue]:
        """The dialogues already written. A torn final line is truncated away."""
        if not self.dialogues_path.is_file():
            return []
        raw = self.dialogues_path.read_bytes()
        dialogues: list[Dialogue] = []
        offset = 0
        lines = raw.split(b"\n")
        for number, line in enumerate(lines, start=1):
            is_last = number == len(lines) or (number == len(lines) - 1 and lines[-1] == b"")
            if line.strip():
                try:
                    dialogues.append(Dialogue.model_validate_json(line))
                except ValidationError:
                    if not is_last:
                        raise RunDirError(
                            f"{self.dialogues_path}:{number} is not a valid dialogue:"
                            " fix or remove that line, then rerun"
                        ) from None
                    log.warning(
                        "%s: dropped a torn last line (%d bytes) left by an interrupted run",
                        self.dialogues_path,
                        len(line),
                    )
                    with self.dialogues_path.open("r+b") as handle:
                        handle.truncate(offset)
                    break
            offset += len(line) + 1
        else:
            if raw and not raw.endswith(b"\n"):
                with self.dialogues_path.open("ab") as handle:
                    handle.write(b"\n")
        return dialogues

    def append(self, dialogue: Dialogue) -> None:
        """Write one dialogue as one line and flush it to the OS: a SIGKILL after this returns
        cannot lose it."""
        if self._handle is None:
            self._handle = self.dialogues_path.open("a", encoding="utf-8")
        self._handle.write(dialogue.model_dump_json(exclude_none=True) + "\n")
        self._handle.flush()

    def append_failure(self, dialogue: Dialogue) -> None:
        """Keep a dialogue that failed for infrastructure reasons, for audit; it is not counted
        as finished, so a rerun tries it again."""
        if self._failures is None:
            self._failures = self.failures_path.open("a", encoding="utf-8")
        self._failures.write(dialogue.model_dump_json(exclude_none=True) + "\n")
        self._failures.flush()

    def close(self) -> None:
        for handle in (self._handle, self._failures):
            if handle is not None:
                handle.close()
        self._handle = self._failures = None
