"""Runs many dialogues: one asyncio scheduler with `concurrency` workers, each dialogue's
turns sequential. Finished dialogues are appended as they complete; a rerun on the same
directory skips them. The manifest records config, versions, counts, usage and timings."""

from __future__ import annotations

import asyncio
import contextlib
import platform
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from itertools import islice
from pathlib import Path
from typing import Any

from factory import __version__
from factory.backends import Backend, build_backend
from factory.backends.adaptive import ConcurrencyLimit
from factory.backends.config import BackendKind
from factory.counting import jensen_shannon, shares
from factory.errors import (
    BackendFailing,
    BudgetSpent,
    FactoryError,
    RunDirError,
    RunIncomplete,
)
from factory.models import Dialogue, Scenario, Usage
from factory.progress import Progress
from factory.roleplay.loop import RolePlay
from factory.roleplay.mix import MixController
from factory.runs.budget import Budget
from factory.runs.config import GenerationConfig
from factory.runs.plan import Plan
from factory.runs.ray_tasks import RayOptions
from factory.runs.run_dir import (
    RunCounts,
    RunDir,
    RunManifest,
    RunTally,
    SessionRecord,
    StrategyMixRecord,
)
from factory.scenarios.bank import ScenarioSource, scenario_source
from factory.secrets import scrub, scrub_text


@dataclass
class RunReport:
    """What one session made, used and why it stopped. `location` is where the run is as
    the user named it: `out_dir`, or the URL whose staging folder `out_dir` is."""

    out_dir: Path
    requested: int
    already_done: int
    written: int
    end_reasons: Counter[str] = field(default_factory=Counter)
    usage: Usage = field(default_factory=Usage)
    seconds: float = 0.0
    backend_failures: int = 0
    failure_streak: int = 0
    abort_after: int = 10
    budget_stop: str | None = None  # why the run stopped at its budget, if it did
    location: str = ""
    strategy_mix: StrategyMixRecord | None = None  # the whole run's, as the manifest says

    def __post_init__(self) -> None:
        self.location = self.location or str(self.out_dir)

    @property
    def error_dialogues(self) -> int:
        """Written dialogues that ended in an error (parse or rejected request)."""
        return sum(n for reason, n in self.end_reasons.items() if reason.startswith("error:"))

    @property
    def total(self) -> int:
        return self.already_done + self.written

    @property
    def all_failed(self) -> bool:
        """This session wrote dialogues, and every one of them ended in an error."""
        return bool(self.written) and self.error_dialogues == self.written

    def unfinished(self) -> FactoryError | None:
        """Why the run is not done, as the error to exit with: the budget stopped it,
        dialogues failed on the backend (kept for the next rerun), or every dialogue ended
        in an error; None when it is done."""
        if self.budget_stop and self.total < self.requested:
            return BudgetSpent(
                f"stopped at the {self.budget_stop}: {self.total} of {self.requested}"
                " dialogues done; raise the budget and rerun the same command to go on"
            )
        if self.all_failed:
            reasons = ", ".join(f"{r} {n}" for r, n in sorted(self.end_reasons.items()))
            return RunIncomplete(
                f"every one of the {self.written} dialogues ended in an error ({reasons}):"
                f" nothing usable was made; the failure records in {self.location}"
                "/dialogues.jsonl quote the model's output (a model that cannot follow the"
                " JSON format may do better with backend.structured: json_object or prompt)"
            )
        if self.backend_failures:
            return RunIncomplete(
                f"{self.backend_failures} dialogues failed on the backend or were refused before"
                f" a word was said (kept in {self.location}/failures.jsonl): fix the server or"
                " config if needed, then rerun the same command to retry them"
            )
        return None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _versions(backend: Backend) -> dict[str, str]:
    found = {"esc-factory": __version__, "python": platform.python_version()}
    packages = {
        "openai": ("openai", "aiohttp"),
        "local": ("llama-cpp-python",),
        "vllm": ("vllm", "torch"),
    }.get(backend.name, ())
    for package in ("pydantic", *packages):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[package] = metadata.version(package)
    return found


# Scenarios drawn (and so checked) before the run folder is touched.
_CHECKED_AHEAD = 32


@dataclass
class _Session:
    """A session's checked inputs: what to make (drawn lazily), what is already made, and
    with what."""

    roleplay: RolePlay
    backend: Backend
    run_dir: RunDir
    previous: RunManifest | None
    fingerprint: str
    plan: Plan
    pending: _Pending
    tally: RunTally
    budget: Budget
    already_done: int

    def all_done(self, report: RunReport) -> bool:
        """Is every planned dialogue on disk now (drawn, and each done or written)?"""
        done = self.already_done + self.pending.skipped + report.written
        return self.plan.exhausted and done >= self.plan.n


class _Pending:
    """The scenarios still to make, in plan order: first the undone part of what earlier
    sessions drew (`head`, drawn up front, which checks it against their record), then the
    rest of the plan, drawn as workers ask and skipping what is on disk."""

    def __init__(self, head: list[Scenario], plan: Plan, done: set[str]) -> None:
        self._head = iter(head)
        self._plan = plan
        self._done = done
        self.any = bool(head) or not plan.exhausted
        self.skipped = 0  # done dialogues met in the lazily drawn part

    def __iter__(self) -> Iterator[Scenario]:
        return self

    def __next__(self) -> Scenario:
        scenario = next(self._head, None)
        if scenario is not None:
            return scenario
        for dlg_id, scenario in self._plan:
            if dlg_id in self._done:
                self.skipped += 1
                continue
            return scenario
        raise StopIteration


async def generate(
    config: GenerationConfig,
    out_dir: Path,
    *,
    backend: Backend | None = None,
    source: ScenarioSource | None = None,
    progress: Progress | None = None,
    ray: RayOptions | None = None,
) -> RunReport:
    """Generate config.n dialogues into out_dir, resuming what is already there.

    Everything that can fail on bad input (prompts, taxonomy, scenarios, model file) is
    checked before the directory is touched."""
    session = await _open(config, out_dir, backend, source, ray)
    report = RunReport(out_dir, config.n, session.already_done, 0)
    # Stop a run whose server is gone instead of failing every remaining dialogue.
    report.abort_after = max(10, 2 * config.in_flight)
    try:
        await _session(config, session, report, progress, ray)
    finally:
        # Whatever failed (a manifest write on a full disk included), the folder is free.
        session.run_dir.release()
    return report


async def _session(
    config: GenerationConfig,
    session: _Session,
    report: RunReport,
    progress: Progress | None,
    ray: RayOptions | None,
) -> None:
    """Makes the dialogues between a `running` manifest and the final one."""
    manifest = _start_manifest(config, session)
    try:
        session.run_dir.write_manifest(manifest)
    except BaseException:
        await session.backend.close()
        raise
    progress = progress or Progress.null()
    progress.start(total=config.n, already=report.already_done)
    started = time.perf_counter()
    try:
        await _produce(config, session, report, progress, ray)
    except BaseException:
        manifest.status = "interrupted"
        raise
    else:
        if report.all_failed:
            manifest.status = "failed"
        elif session.all_done(report):
            manifest.status = "complete"
        else:
            manifest.status = "budget_reached" if report.budget_stop else "incomplete"
    finally:
        session.run_dir.close()
        await session.backend.close()
        progress.stop()
        report.seconds = time.perf_counter() - started
        report.already_done += session.pending.skipped
        _finish_manifest(manifest, session, report)
        session.run_dir.write_manifest(manifest)
        report.strategy_mix = manifest.strategy_mix


async def _open(
    config: GenerationConfig,
    out_dir: Path,
    backend: Backend | None,
    source: ScenarioSource | None,
    ray: RayOptions | None,
) -> _Session:
    """Checks the inputs, then takes the run directory: same config as the run already
    there, budget not yet spent, backend started (by each Ray worker with `ray`)."""
    roleplay = RolePlay.from_config(config)
    fingerprint = config.fingerprint(roleplay.content_hashes)
    # Drawn lazily: a bank too short or unreadable fails here, the rest as it is reached.
    scenarios = (source or scenario_source(config.scenarios)).stream(config.n, config.seed)
    plan = Plan(scenarios, config.n, config.seed)
    plan.prefetch(_CHECKED_AHEAD)  # a broken start of the source fails before the folder exists
    backend = backend or build_backend(config.backend, config.in_flight)
    if config.auto_concurrency and hasattr(backend, "adapt"):
        backend.adapt(config.max_concurrency)
    if ray is not None:
        from factory.runs.ray_tasks import connect

        connect(ray)  # an unreachable cluster fails here, before the run directory is touched
        if config.backend.kind is not BackendKind.vllm:
            # The workers connect the same way: a wrong URL or key fails here, in one line,
            # not in every worker. (A vLLM engine is not loaded on the driver.)
            await backend.start()
            await backend.close()
    run_dir = RunDir(out_dir)
    run_dir.prepare()
    try:
        previous = run_dir.read_manifest()
        legacy = config.fingerprint(roleplay.content_hashes, legacy=True)
        if previous and previous.fingerprint not in (fingerprint, legacy):
            what = config_differences(previous, config, roleplay.prompt_hashes)
            raise RunDirError(
                f"{out_dir} holds a run made with another config ({what}): pass a new --out,"
                " or rerun with that run's config"
            )
        tally = run_dir.tally()
        recorded = previous.plan if previous else None
        plan.expect(recorded, out_dir)
        # What earlier sessions drew is drawn again up front (checked against their record):
        # it holds every dialogue on disk, so what is done and what is left is known here.
        drawn_before = min(config.n, recorded.n if recorded else tally.dialogues)
        head = [sc for dlg_id, sc in islice(plan, drawn_before) if dlg_id not in tally.ids]
        pending = _Pending(head, plan, tally.ids)
        # The mix control picks up where the run's earlier sessions left off.
        for (strategy, phase), count in tally.strategies.items():
            roleplay.mix.observe([strategy] * count, phase)
        spent = tally.usage.model_copy()  # the tally goes on counting; this stays put
        budget = Budget(config.budget, config.backend.model or backend.model, spent)
        if pending.any and (why := budget.exceeded(Usage())):
            raise BudgetSpent(
                f"this run's {why} is already spent, with {config.n - tally.dialogues}"
                " dialogues to go: raise the budget (--max-tokens, --max-cost or budget: in the"
                " config) and rerun"
            )
        if pending.any and ray is None:
            await backend.start()  # with Ray each worker starts (and checks) its own
    except FactoryError:
        run_dir.discard_if_unused()
        raise
    return _Session(
        roleplay,
        backend,
        run_dir,
        previous,
        fingerprint,
        plan,
        pending,
        tally,
        budget,
        already_done=drawn_before - len(head),
    )


def _start_manifest(config: GenerationConfig, session: _Session) -> RunManifest:
    previous = session.previous
    return RunManifest(
        tool_version=__version__,
        created_at=previous.created_at if previous else _now(),
        updated_at=_now(),
        status="running",
        fingerprint=session.fingerprint,
        config=scrub(config.model_dump(mode="json")),
        taxonomy=session.roleplay.taxonomy.name,
        prompt_hashes=session.roleplay.prompt_hashes,
        sessions=previous.sessions if previous else [],
        plan=session.plan.record(previous),
    )


async def _produce(
    config: GenerationConfig,
    session: _Session,
    report: RunReport,
    progress: Progress,
    ray: RayOptions | None,
) -> None:
    """Makes the pending dialogues, in this process or as Ray tasks, until done or at the
    budget."""
    if not session.pending.any:
        return
    budget = session.budget
    if ray is None:
        limits = _limits_of(session.backend) if config.auto_concurrency else None
        if limits is not None:
            await _run_all(session, report, progress, config.max_concurrency, limits)
            return
        wanted = 8 if config.auto_concurrency else config.in_flight
        in_flight = min(wanted, session.backend.max_parallel or wanted)
        await _run_all(session, report, progress, in_flight)
        return
    from factory.runs.ray_tasks import run_on_ray

    def room() -> float | None:
        """Dialogues that may still be sent out (0: at the budget)."""
        report.budget_stop = budget.exceeded(report.usage)
        if report.budget_stop is not None:
            return 0.0
        return budget.affordable(report.usage, report.written + report.backend_failures)

    await run_on_ray(
        ray,
        config,
        session.pending,
        lambda dialogue: _record(dialogue, session, report, progress),
        room,
    )


def _limits_of(backend: Backend) -> dict[str, ConcurrencyLimit] | None:
    """The per-endpoint call limits of a backend that can adapt them (an HTTP server);
    None for one that cannot (a local model, the scripted backend): auto runs those at 8."""
    limits = getattr(backend, "limits", None)
    return limits() if callable(limits) else None


def _admitted(limits: dict[str, ConcurrencyLimit]) -> int:
    """Dialogues let in at once under auto: the endpoints' limits together, and a quarter
    more, so that calls wait at a limit and show it demand (each dialogue has one call out
    at a time)."""
    total = sum(limit.limit for limit in limits.values())
    return total + max(1, total // 4)


def _concurrency_note(limits: dict[str, ConcurrencyLimit]) -> str:
    parts = [f"{limit.limit} ({limit.last.why})" for limit in limits.values()]
    return "concurrency auto " + " + ".join(parts)


async def _run_all(
    session: _Session,
    report: RunReport,
    progress: Progress,
    concurrency: int,
    limits: dict[str, ConcurrencyLimit] | None = None,
) -> None:
    """`concurrency` workers take scenarios from the pending stream (each drawn as a worker
    asks for it) until it runs out or the budget is reached. With auto `limits`, a worker
    starts a dialogue only while fewer than `_admitted` are in flight."""
    roleplay, backend, budget, pending = (
        session.roleplay,
        session.backend,
        session.budget,
        session.pending,
    )

    active = 0
    ended = asyncio.Event()  # a dialogue ended: room for another under auto

    async def worker() -> None:
        nonlocal active
        while True:
            while limits is not None and active >= _admitted(limits):
                # Woken when a dialogue ends, or after a moment for a limit that grew.
                ended.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(ended.wait(), 0.2)
            # At the budget no new dialogue starts; those in flight finish and are kept.
            if why := budget.exceeded(report.usage):
                report.budget_stop = why
                return
            scenario = next(pending, None)
            if scenario is None:
                return
            active += 1
            try:
                dialogue = await roleplay.run(backend, scenario)
            finally:
                active -= 1
                ended.set()
            if limits is not None:
                progress.note = _concurrency_note(limits)
            _record(dialogue, session, report, progress)

    workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
    try:
        await asyncio.gather(*workers)
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)


def _record(dialogue: Dialogue, session: _Session, report: RunReport, progress: Progress) -> None:
    """A dialogue that failed on the backend (server down, timeouts), or was refused before
    anyone spoke (a wrong model name, say), goes to failures.jsonl and is retried by the next
    rerun; everything else, parse failures and refusals mid-dialogue included, is final. Many
    server failures or rejections in a row stop the run."""
    report.usage.add(dialogue.generation.usage)
    refused_empty = dialogue.end_reason == "error:rejected" and not dialogue.turns
    if dialogue.end_reason == "error:backend" or refused_empty:
        session.run_dir.append_failure(dialogue)
        session.tally.add_failure(dialogue)
        report.backend_failures += 1
    else:
        session.run_dir.append(dialogue)
        session.tally.add(dialogue)
        report.written += 1
        report.end_reasons[dialogue.end_reason] += 1
    if dialogue.end_reason in ("error:backend", "error:rejected"):
        report.failure_streak += 1
        if report.failure_streak >= report.abort_after:
            message = dialogue.failure.message if dialogue.failure else "unknown"
            if dialogue.end_reason == "error:rejected":
                # The server said no to what was asked: the same command would be refused again.
                raise BackendFailing(
                    f"the server refused {report.failure_streak} dialogues in a row ({message}):"
                    " the config does not fit this server (model name, request options); fix"
                    " it, then rerun"
                )
            raise BackendFailing(
                f"{report.failure_streak} dialogues in a row failed on the backend (last: {message}):"
                " check the server and config, then rerun the same command to resume"
            )
    else:
        report.failure_streak = 0
    progress.advance(report.usage, errors=report.backend_failures + report.error_dialogues)


# The settings a run's fingerprint covers, as dotted prefixes of the config.
_CONTENT_KEYS = ("seed", "scenarios", "backend.kind", "backend.model", "backend.structured",
                 "sampling.", "roleplay.")  # fmt: skip


def config_differences(
    previous: RunManifest, config: GenerationConfig, prompt_hashes: dict[str, str]
) -> str:
    """What differs between the run on disk and this config, in words: the settings that
    decide content (old -> new), else the prompts, else the data files behind them."""
    old = _flat(previous.config)
    new = _flat(scrub(config.model_dump(mode="json")))
    changed = [
        f"{key}: {old.get(key)!r} -> {new.get(key)!r}"
        for key in sorted(set(old) | set(new))
        if key.startswith(_CONTENT_KEYS) and old.get(key) != new.get(key)
    ]
    if changed:
        more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
        return "; ".join(changed[:3]) + more
    prompts = sorted(k for k in prompt_hashes if previous.prompt_hashes.get(k) != prompt_hashes[k])
    if prompts:
        return f"the {', '.join(prompts)} prompt template(s) changed"
    return "the taxonomy, the dialogue-shape data or the scenario data changed"


def _flat(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Every leaf by its dotted path (`roleplay.max_exchanges`)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out


def _mix_record(mix: MixController, tally: RunTally) -> StrategyMixRecord:
    used: Counter[str] = Counter()
    for (strategy, _), count in tally.strategies.items():
        used[strategy] += count
    achieved = shares(used) if used else {}
    return StrategyMixRecord(
        target={k: round(v, 4) for k, v in mix.target.items()},
        achieved=achieved,
        control=mix.enabled,
        supporter_turns=sum(used.values()),
        jsd_bits=jensen_shannon(achieved, mix.target) if achieved else None,
    )


def _finish_manifest(manifest: RunManifest, session: _Session, report: RunReport) -> None:
    """Counts, usage and the strategy mix come from the files (the tally read at the start,
    plus what this session wrote), so they stay true across resumed sessions; usage includes
    the dialogues kept aside in failures.jsonl."""
    tally, backend = session.tally, session.backend
    manifest.updated_at = _now()
    manifest.backend = {"name": backend.name, "model": backend.model}
    manifest.versions = _versions(backend)
    manifest.counts = RunCounts(
        requested=session.plan.n,
        dialogues=tally.dialogues,
        turns=tally.turns,
        end_reasons=dict(sorted(tally.end_reasons.items())),
        backend_failures_logged=tally.failures,
    )
    manifest.usage = tally.usage.model_copy()
    manifest.strategy_mix = _mix_record(session.roleplay.mix, tally)
    manifest.plan = session.plan.record(session.previous)
    manifest.sessions.append(
        SessionRecord(
            finished_at=_now(),
            status=manifest.status,
            resumed_from=report.already_done,
            written=report.written,
            backend_failures=report.backend_failures,
            seconds=round(report.seconds, 2),
            usage=report.usage,
            calls_per_s=round(report.usage.calls / report.seconds, 2) if report.seconds else 0.0,
            concurrency=_concurrency_record(session),
        )
    )


def _concurrency_record(session: _Session) -> list[dict[str, Any]] | None:
    """Under auto: each endpoint's limit, peak and the changes made (the URL scrubbed)."""
    limits = _limits_of(session.backend)
    if not limits or not any(limit.adaptive for limit in limits.values()):
        return None
    return [{"endpoint": scrub_text(url), **limit.record()} for url, limit in limits.items()]
