"""Builds a scenario bank: sampled personas and cells, situations written, near-duplicates
rejected, in a fixed order, so the same seed and config give a byte-identical file and a
larger n only appends."""

from __future__ import annotations

import asyncio
import math
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from factory.backends import Backend, build_backend
from factory.backends.config import BackendConfig, LocalOptions
from factory.embeddings import Encoder, minilm_encoder
from factory.errors import ConfigError, RunDirError
from factory.jsonl import write_jsonl
from factory.models import Scenario, SituationSource, Usage
from factory.progress import Progress
from factory.prompts import PromptLibrary
from factory.scenarios.bank import Implausible, ScenarioDraws
from factory.scenarios.dedup import EmbeddingDeduper, dedup_text
from factory.scenarios.persona_bank import PersonaBank
from factory.scenarios.sampler import (
    DEFAULT_INTENSITY_WEIGHTS,
    Cell,
    Marginals,
    Mix,
    PersonaSampler,
    scenario_from,
)
from factory.scenarios.situations import LLMSituationWriter, load_seeds


class SituationMode(StrEnum):
    template = "template"
    llm = "llm"
    seeded = "seeded"


class DedupConfig(BaseModel):
    """Near-duplicate scenarios turned away at sampling time (MiniLM; the `embed` extra)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(default=True, description="false: keep near-duplicates (--no-dedup)")
    threshold: float = Field(
        default=0.95, gt=0, le=1, description="cosine at or above which a situation is a duplicate"
    )
    max_attempts: int = Field(
        default=8, ge=1, le=100, description="draws before a near-duplicate is kept anyway"
    )


class ScenarioConfig(BaseModel):
    """`factory personas sample` settings (YAML via --config, flags override)."""

    model_config = ConfigDict(extra="forbid")

    n: int = Field(default=100, ge=1, le=10_000_000, description="scenarios to write")
    seed: int = Field(
        default=7, ge=0, le=2**31 - 1, description="same seed and settings: a byte-identical file"
    )
    data_dir: str | None = Field(
        default=None, description="a personas folder; default: the shipped one"
    )
    mix: Mix = Field(
        default=Mix.uniform, description="target weights over the problem x emotion grid"
    )
    marginals: Marginals = Field(
        default=Marginals.population,
        description="age, gender and home shares: personas/population.yaml's, or the pools evenly",
    )
    intensity_weights: tuple[float, float, float, float, float] = Field(
        default=DEFAULT_INTENSITY_WEIGHTS,
        description="weights of initial intensity 1..5, within the event's range",
    )
    situations: SituationMode = Field(
        default=SituationMode.template,
        description="template: composed from situations.yaml; llm: written by the backend; seeded: paraphrased seeds",
    )
    seeds: list[str] = Field(
        default_factory=list, description="ESConv .jsonl / ESC-Eval .json for `seeded`"
    )
    concurrency: int = Field(default=8, ge=1, le=4096, description="situation calls in flight")
    temperature: float = Field(default=0.8, ge=0, le=2, description="of situation calls")
    dedup: DedupConfig = Field(default_factory=DedupConfig)
    backend: BackendConfig = Field(
        default_factory=LocalOptions, description="writes llm and seeded situations"
    )

    @model_validator(mode="after")
    def _consistent(self) -> ScenarioConfig:
        weights = self.intensity_weights
        if any(not math.isfinite(w) or w < 0 for w in weights) or sum(weights) <= 0:
            raise ValueError("intensity_weights: five finite weights >= 0 with a positive sum")
        if self.seeds and self.situations is not SituationMode.seeded:
            raise ValueError("seeds are only read with situations: seeded (--situations seeded)")
        if self.situations is SituationMode.seeded and not self.seeds:
            raise ValueError(
                "situations: seeded needs seed files: pass --seeds PATH (ESConv .jsonl or ESC-Eval .json)"
            )
        return self


@dataclass
class SampleReport:
    scenarios: int = 0
    seconds: float = 0.0
    duplicates_rejected: int = 0
    kept_after_max_attempts: int = 0
    implausible_redrawn: Counter[str] = field(default_factory=Counter)
    llm_fallbacks: int = 0
    refused_outputs: dict[str, int] = field(default_factory=dict)
    rejected: list[dict[str, object]] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    infeasible_cells: list[Cell] = field(default_factory=list)


async def sample_scenarios(
    config: ScenarioConfig,
    *,
    backend: Backend | None = None,
    encoder: Encoder | None = None,
    progress: Progress | None = None,
) -> tuple[list[Scenario], SampleReport]:
    """config.n scenarios. Scenario i depends only on the seed, the config and scenarios
    0..i-1, never on timing or concurrency."""
    started = time.perf_counter()
    bank = PersonaBank(Path(config.data_dir) if config.data_dir else None)
    sampler = PersonaSampler(bank, config.mix, config.intensity_weights, config.marginals)
    if not sampler.cells:
        raise ConfigError(
            "the constraints exclude every problem x emotion cell: relax personas/constraints.yaml"
        )
    writer = await _situation_writer(config, bank, backend)
    deduper = None
    if config.dedup.enabled:
        deduper = EmbeddingDeduper(config.dedup.threshold, encoder or minilm_encoder())
    report = SampleReport(infeasible_cells=sampler.infeasible)
    progress = progress or Progress.null()
    progress.start(total=config.n, already=0)
    builder = _BankBuilder(config, sampler, writer, deduper, report)
    try:
        while not builder.done:
            await builder.draft_missing()
            builder.accept_ready(progress)
    finally:
        progress.stop()
        if writer is not None:
            await writer.backend.close()
            report.usage = writer.usage
            report.llm_fallbacks = writer.fallbacks
            report.refused_outputs = dict(writer.refused.most_common())
    report.scenarios = len(builder.accepted)
    report.seconds = time.perf_counter() - started
    return builder.accepted, report


async def _situation_writer(
    config: ScenarioConfig, bank: PersonaBank, backend: Backend | None
) -> LLMSituationWriter | None:
    """The started LLM writer for `llm` and `seeded` situations; None for templates."""
    if config.situations is SituationMode.template:
        return None
    seeds = (
        load_seeds([Path(p) for p in config.seeds])
        if config.situations is SituationMode.seeded
        else None
    )
    library = PromptLibrary()
    backend = backend or build_backend(config.backend, config.concurrency)
    writer = LLMSituationWriter(
        backend, library.get("situation"), library.get("paraphrase"), seeds, config.temperature
    )
    await backend.start()
    return writer


class _BankBuilder:
    """Drafts scenarios concurrently but accepts them strictly in index order: a draft the
    deduper turns away is redrawn with the next attempt's random stream. A draft the
    plausibility check turns away is redrawn at once and kept aside with its rules."""

    def __init__(
        self,
        config: ScenarioConfig,
        sampler: PersonaSampler,
        writer: LLMSituationWriter | None,
        deduper: EmbeddingDeduper | None,
        report: SampleReport,
    ) -> None:
        self.config = config
        self.draws = ScenarioDraws(sampler, config.seed, config.n)
        self.checker = sampler.checker
        self.writer = writer
        self.deduper = deduper
        self.report = report
        self.attempt = [0] * config.n
        self.drafts: dict[tuple[int, int], tuple[Scenario, object, list[Implausible]]] = {}
        self.accepted: list[Scenario] = []
        self.limit = asyncio.Semaphore(config.concurrency)

    @property
    def done(self) -> bool:
        return len(self.accepted) >= self.config.n

    async def draft_missing(self) -> None:
        """Drafts (and embeds) every scenario not yet accepted that has no current draft."""
        missing = [
            (i, self.attempt[i])
            for i in range(len(self.accepted), self.config.n)
            if (i, self.attempt[i]) not in self.drafts
        ]
        await asyncio.gather(*(self._draft(i, k) for i, k in missing))
        vectors = _embed(self.deduper, [self.drafts[key][0] for key in missing])
        for key, vector in zip(missing, vectors, strict=True):
            scenario, _, turned_away = self.drafts[key]
            self.drafts[key] = (scenario, vector, turned_away)

    async def _draft(self, index: int, attempt: int) -> None:
        if self.writer is not None:
            draw, rng = self.draws.draw(index, attempt)

            def implausible(text: str) -> str | None:
                source = SituationSource(kind="llm", method="written")
                broken = self.checker.broken(scenario_from(draw, text, source))
                return broken[0] if broken else None

            async with self.limit:
                written = await self.writer.write(draw, rng, implausible)
            if written is not None:
                self.drafts[(index, attempt)] = (scenario_from(draw, *written), None, [])
                return
        scenario, turned_away = self.draws.template(index, attempt)
        self.drafts[(index, attempt)] = (scenario, None, turned_away)

    def accept_ready(self, progress: Progress) -> None:
        """Accepts drafts in order until one is turned away as a near-duplicate (it needs a
        new draft) or all are accepted. After max_attempts the last draft is kept."""
        while not self.done:
            index = len(self.accepted)
            scenario, vector, turned_away = self.drafts[(index, self.attempt[index])]
            for draft in turned_away:
                self.report.implausible_redrawn.update(draft.rules)
                self.report.rejected.append(
                    {
                        "reason": "implausible",
                        "rules": draft.rules,
                        **draft.scenario.model_dump(mode="json", exclude_none=True),
                    }
                )
            turned_away.clear()  # counted once, even if this draft is turned away next
            if self.deduper is not None and vector is not None:
                admitted, similarity = self.deduper.admit(vector)
                if not admitted and self.attempt[index] + 1 < self.config.dedup.max_attempts:
                    self.attempt[index] += 1
                    self.report.duplicates_rejected += 1
                    self.report.rejected.append(
                        {
                            "reason": "near_duplicate",
                            "similarity": round(similarity, 4),
                            **scenario.model_dump(mode="json", exclude_none=True),
                        }
                    )
                    return
                if not admitted:
                    self.report.kept_after_max_attempts += 1
            self.accepted.append(scenario)
            progress.advance(self.report.usage, errors=0)


def _embed(deduper: EmbeddingDeduper | None, scenarios: list[Scenario]) -> list[object]:
    if deduper is None or not scenarios:
        return [None] * len(scenarios)
    return list(deduper.encode([dedup_text(s) for s in scenarios]))


def write_sampled_bank(
    config: ScenarioConfig, out: Path, *, progress: Progress | None = None
) -> SampleReport:
    """Samples config.n scenarios into the bank `out` (checked writable before any work),
    with the drafts turned away as near-duplicates beside it."""
    check_writable(out)
    scenarios, report = asyncio.run(sample_scenarios(config, progress=progress))
    write_bank(scenarios, out, report.rejected)
    return report


def check_writable(path: Path) -> None:
    """Fail before any work if the bank cannot be written where asked."""
    if path.is_dir():
        raise RunDirError(
            f"{path} is a directory: pass a file path to --out, e.g. {path / 'scenarios.jsonl'}"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise RunDirError(
            f"cannot write to {path.parent} ({exc.strerror}): pass a writable --out"
        ) from None


def write_bank(
    scenarios: list[Scenario], path: Path, rejected: list[dict[str, object]] | None = None
) -> None:
    """One scenario per line, written atomically: never half a bank. Drafts turned away (as
    near-duplicates, or as implausible with the rules they broke) go to
    PATH.rejected.jsonl, with the reason."""
    write_jsonl(path, (s.model_dump(mode="json", exclude_none=True) for s in scenarios))
    if rejected:
        write_jsonl(path.with_name(path.stem + ".rejected.jsonl"), rejected)
