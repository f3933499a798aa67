"""One batch of scenarios on a backend of its own: what a Ray task or a distilabel step runs."""

from __future__ import annotations

import asyncio

from factory.backends import build_backend
from factory.models import Dialogue, Scenario
from factory.roleplay.loop import RolePlay
from factory.runs.config import GenerationConfig


async def run_batch(
    roleplay: RolePlay, config: GenerationConfig, scenarios: list[Scenario]
) -> list[Dialogue]:
    """The scenarios' dialogues, concurrently, on a backend of their own (built from the
    role-play's config, started and closed here): what a Ray task or a distilabel step runs."""
    backend = build_backend(config.backend, config.in_flight)
    if config.auto_concurrency and hasattr(backend, "adapt"):
        backend.adapt(config.max_concurrency)  # each worker finds its own share of the server
    await backend.start()
    limit = asyncio.Semaphore(min(config.in_flight, backend.max_parallel or config.in_flight))

    async def one(scenario: Scenario) -> Dialogue:
        async with limit:
            return await roleplay.run(backend, scenario)

    try:
        return list(await asyncio.gather(*(one(s) for s in scenarios)))
    finally:
        await backend.close()
