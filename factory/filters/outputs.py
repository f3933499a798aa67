"""A filter run's outputs (kept.jsonl, rejected.jsonl, report.json) as one set: they are
written into a private staging folder beside `--out`, which then replaces `--out` whole, so
no reader ever sees a new kept file beside an old report, and an interrupted run leaves the
previous set as it was (one killed between the two renames that swap the sets leaves none).
A lock keeps two filter runs out of one `--out`; staging folders left by a killed run are
removed by the next one."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from factory.errors import RunDirError
from factory.staging import staging_folder, writer_lock

OUTPUT_FILES = frozenset({"kept.jsonl", "rejected.jsonl", "report.json"})


@contextmanager
def staged_outputs(out_dir: Path) -> Iterator[Path]:
    """A staging folder to write the set into; when the block ends without an error the
    folder becomes `out_dir` (replacing an earlier set), otherwise it is removed."""
    out_dir = out_dir.absolute()
    _check_target(out_dir)
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunDirError(
            f"cannot create {out_dir.parent} ({exc.strerror}): pass a writable --out"
        ) from None
    busy = f"another factory filter is writing to {out_dir}: wait for it or pass another --out"
    with writer_lock(out_dir.parent / f".{out_dir.name}.filter-lock", busy):
        _remove_stale(out_dir)
        staging = staging_folder(out_dir.parent, f".{out_dir.name}.staging-")
        try:
            yield staging
            _publish(staging, out_dir)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _check_target(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise RunDirError(f"--out {out_dir} is a file: pass a folder for the filter outputs")
    if out_dir.is_dir():
        others = sorted(p.name for p in out_dir.iterdir() if p.name not in OUTPUT_FILES)
        if others:
            raise RunDirError(
                f"--out {out_dir} holds other files ({', '.join(others[:3])}): the filter"
                " outputs replace the folder whole, so pass an empty or new folder"
            )


def _remove_stale(out_dir: Path) -> None:
    """Staging and old folders of killed runs (the lock says none is in use)."""
    for pattern in (f".{out_dir.name}.staging-*", f".{out_dir.name}.old-*"):
        for stale in out_dir.parent.glob(pattern):
            shutil.rmtree(stale, ignore_errors=True)


def _publish(staging: Path, out_dir: Path) -> None:
    """Two renames: the previous set aside, the new one in. An error or interruption between
    them puts the previous set back; a kill there leaves no `out_dir` (never a mix) until the
    next run."""
    try:
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
            previous = old / out_dir.name
            try:
                out_dir.rename(previous)
                staging.rename(out_dir)
            except BaseException:
                if previous.exists() and not out_dir.exists():
                    previous.rename(out_dir)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            staging.rename(out_dir)
    except OSError as exc:
        raise RunDirError(
            f"cannot replace {out_dir} ({exc.strerror}): pass a writable --out"
        ) from None
