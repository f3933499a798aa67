"""Writing files that are never seen half-written: the content goes to a hidden partial file
beside the target and is renamed over it only when complete; on any error the partial file
is removed and the target is left as it was."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel

from factory.errors import RunDirError, os_fault_line


@contextmanager
def atomic_file(path: Path) -> Iterator[IO[str]]:
    """A text handle whose content replaces `path` when the block ends without an error.
    A symlink is written through (its target is replaced, the link stays); a device or a
    pipe is written to directly. An unwritable place is a RunDirError that says to pass a
    writable --out."""
    if path.is_symlink():
        path = path.resolve()
    if path.exists() and not path.is_file() and not path.is_dir():
        with _direct(path) as handle:
            yield handle
        return
    partial = path.with_name(f".{path.name}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with partial.open("w", encoding="utf-8") as handle:
            yield handle
        partial.replace(path)
    except OSError as exc:
        _remove(partial)
        # A full disk or a read-only place is said as such (with what to do), naming the
        # target rather than the hidden partial file.
        fault = os_fault_line(OSError(exc.errno, exc.strerror, str(path)))
        raise RunDirError(
            fault or f"cannot write {path} ({exc.strerror}): pass a writable --out"
        ) from None
    except BaseException:
        _remove(partial)
        raise


def _remove(partial: Path) -> None:
    # On a read-only file system even removing a file that is not there fails (EROFS).
    with suppress(OSError):
        partial.unlink(missing_ok=True)


def model_line(model: BaseModel) -> str:
    """A model as one compact JSONL line, None fields left out: how every dialogue file is
    written (a run's dialogues.jsonl, a filter's kept and rejected files, a version's
    rejected/), by pydantic's serialiser, several times faster than `json_line`."""
    return model.model_dump_json(exclude_none=True) + "\n"


def json_line(row: Any) -> str:
    """One JSONL line: UTF-8 kept as is, keys in the order given."""
    return json.dumps(row, ensure_ascii=False) + "\n"


def write_jsonl(path: Path, rows: Iterable[Any]) -> int:
    """All rows as JSON lines, atomically; returns how many were written."""
    count = 0
    with atomic_file(path) as handle:
        for row in rows:
            handle.write(json_line(row))
            count += 1
    return count


@contextmanager
def _direct(path: Path) -> Iterator[IO[str]]:
    try:
        with path.open("w", encoding="utf-8") as handle:
            yield handle
    except OSError as exc:
        raise RunDirError(f"cannot write {path} ({exc.strerror}): pass a writable --out") from None
