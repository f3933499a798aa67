"""Run directories at an fsspec URL (`--out s3://bucket/runs/x`, `gs://...`, `memory://...`).

Object stores cannot append to a file or hold a lock, so a run works in a local staging
folder (under $FACTORY_STAGING, else staging/ in the cache folder: ~/.cache/esc-factory
unless $FACTORY_CACHE_DIR or $XDG_CACHE_HOME says otherwise; one per URL) and the URL
holds its copy:

- before the run, the URL's files are merged into the staging folder: dialogues (and
  failures) by id, so nothing either side finished is lost; the URL's manifest is taken when
  the staging folder has none;
- during the run the files are uploaded every `sync_every_s` seconds, and once more at the
  end whatever happens (error, Ctrl-C, budget stop).

Several machines should not write the same URL at once: the lock is local to the staging
folder. (With `--ray`, one driver writes for the whole cluster.)"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from factory.cache import cache_dir
from factory.errors import ConfigError, RunDirError, first_error_line
from factory.runs.run_dir import DIALOGUES_FILE, FAILURES_FILE, MANIFEST_FILE, TORN_FILE

SYNCED = (DIALOGUES_FILE, FAILURES_FILE, MANIFEST_FILE, TORN_FILE)


def is_url(out: str | Path) -> bool:
    """Whether --out names an fsspec URL rather than a local folder."""
    return "://" in str(out)


class RemoteRun:
    """A run directory at an fsspec URL, worked on in a local staging folder."""

    def __init__(self, url: str, staging_root: Path | None = None) -> None:
        import fsspec  # a dependency of huggingface-hub

        self.url = url.rstrip("/")
        try:
            self.fs, self.root = fsspec.core.url_to_fs(self.url)
        except (ValueError, ImportError) as exc:
            raise ConfigError(
                f"--out {url}: no filesystem for it ({first_error_line(exc)[:160]}); install"
                " the fsspec backend for that scheme (s3fs, gcsfs, ...)"
            ) from None
        root = staging_root or Path(os.environ.get("FACTORY_STAGING") or cache_dir() / "staging")
        self.staging = root / hashlib.sha256(self.url.encode()).hexdigest()[:16]

    def _remote(self, name: str) -> str:
        return f"{self.root.rstrip('/')}/{name}"

    def _read_remote(self, name: str) -> bytes | None:
        try:
            if not self.fs.exists(self._remote(name)):
                return None
            with self.fs.open(self._remote(name), "rb") as handle:
                data: bytes = handle.read()
                return data
        except OSError as exc:
            raise RunDirError(f"cannot read {self.url}/{name} ({exc})") from None

    def pull(self) -> Path:
        """Merges the URL's files into the staging folder and returns the folder."""
        self.staging.mkdir(parents=True, exist_ok=True)
        for name in (DIALOGUES_FILE, FAILURES_FILE):
            remote = self._read_remote(name)
            if not remote:
                continue
            local_path = self.staging / name
            local = local_path.read_bytes() if local_path.is_file() else b""
            seen = {_id(line) for line in local.splitlines() if line.strip()}
            extra = [
                line
                for line in remote.splitlines()
                if line.strip() and _id(line) is not None and _id(line) not in seen
            ]
            if extra:
                if local and not local.endswith(b"\n"):
                    local += b"\n"  # the runner cuts a torn last line; keep ours apart
                local_path.write_bytes(local + b"\n".join(extra) + b"\n")
        if not (self.staging / MANIFEST_FILE).is_file():
            remote = self._read_remote(MANIFEST_FILE)
            if remote:
                (self.staging / MANIFEST_FILE).write_bytes(remote)
        return self.staging

    def push(self) -> None:
        """Uploads the staging folder's run files to the URL (each under a temporary name,
        then moved, so a reader never sees half a file where the store allows moves)."""
        try:
            self.fs.makedirs(self.root, exist_ok=True)
            for name in SYNCED:
                local = self.staging / name
                if not local.is_file():
                    continue
                tmp = self._remote(f".{name}.partial")
                self.fs.put_file(str(local), tmp)
                self.fs.mv(tmp, self._remote(name))
        except OSError as exc:
            raise RunDirError(
                f"cannot write to {self.url} ({exc}): the run is kept in {self.staging}"
            ) from None

    async def sync_forever(self, every_s: float) -> None:
        while True:
            await asyncio.sleep(every_s)
            with contextlib.suppress(RunDirError):
                await asyncio.to_thread(self.push)


def _id(line: bytes) -> Any:
    try:
        return json.loads(line).get("id")
    except (ValueError, AttributeError):
        return None
