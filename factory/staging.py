"""Sets of files that appear whole (a filter run's outputs, a dataset version): built in a
private folder beside the target and renamed into place, under a lock that keeps a second
writer out, so whatever a killed writer left beside the target is known to be stale."""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from factory.errors import RunDirError


def is_version_dir(path: Path) -> bool:
    """Whether `path` is a dataset version's folder (its manifest.json and its data/): what
    filter, eval, view and the embedding store each tell apart from a run or a file."""
    return (path / "manifest.json").is_file() and (path / "data").is_dir()


def folder_mode() -> int:
    """What a plain mkdir would give: 0777 less the process's umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o777 & ~mask


def staging_folder(parent: Path, prefix: str) -> Path:
    """A new hidden folder in `parent` with a plain folder's permissions (mkdtemp's 0700
    would hide what is published from everyone but its owner)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    folder.chmod(folder_mode())
    return folder


@contextmanager
def writer_lock(path: Path, busy: str) -> Iterator[None]:
    """Holds an exclusive lock on the file `path` for the block; `busy` is the one line
    said when another process holds it. The file goes with the block, so no hidden file is
    left (a writer that opened it just before may then run too: a window of microseconds)."""
    try:
        handle = path.open("a")
    except OSError as exc:
        raise RunDirError(
            f"cannot write in {path.parent} ({exc.strerror}): pass a writable --out"
        ) from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise RunDirError(busy) from None
        try:
            yield
        finally:
            path.unlink(missing_ok=True)
    finally:
        handle.close()  # closing the file releases the flock
