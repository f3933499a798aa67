"""One generation run where the CLI asks for it: a local folder or an fsspec URL (pulled
first, synced while running, pushed at the end whatever happens), in this process or as Ray
tasks (Ray disconnected at the end)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from factory.progress import Progress
from factory.runs.config import GenerationConfig
from factory.runs.generate import RunReport, generate
from factory.runs.ray_tasks import RayOptions, shutdown
from factory.runs.remote import RemoteRun, is_url

SYNC_EVERY_S = 30.0


def default_out(config: GenerationConfig) -> str:
    """outputs/runs/<backend>[-<model>]-seed<seed>: where a run goes without --out. The model
    is in the name, so a second model does not land in (and get refused by) the first one's
    folder; a path or a Hub id keeps its last part, made safe for a folder name."""
    parts = [config.backend.kind.value]
    if config.backend.model:
        last = config.backend.model.rstrip("/").rsplit("/", 1)[-1].removesuffix(".gguf")
        slug = re.sub(r"[^A-Za-z0-9._-]+", "-", last).strip("-.")[:60]
        if slug:
            parts.append(slug)
    return str(Path("outputs") / "runs" / f"{'-'.join(parts)}-seed{config.seed}")


def run_generation(
    config: GenerationConfig,
    out: str | None = None,
    *,
    ray: RayOptions | None = None,
    progress: Progress | None = None,
) -> RunReport:
    """Generate into `out` (a folder or URL; default_out without one) and return the
    session's report, its `location` as the user named it."""
    target = out or default_out(config)
    remote = RemoteRun(target) if is_url(target) else None
    out_dir = remote.pull() if remote else Path(target)
    try:
        report = asyncio.run(_run(config, out_dir, remote, ray, progress))
    finally:
        if ray is not None:
            shutdown()
    if remote is not None:
        report.location = target.rstrip("/")
    return report


async def _run(
    config: GenerationConfig,
    out_dir: Path,
    remote: RemoteRun | None,
    ray: RayOptions | None,
    progress: Progress | None,
) -> RunReport:
    sync = asyncio.create_task(remote.sync_forever(SYNC_EVERY_S)) if remote else None
    try:
        return await generate(config, out_dir, progress=progress, ray=ray)
    finally:
        if sync is not None:
            sync.cancel()
        if remote is not None:
            await asyncio.to_thread(remote.push)
