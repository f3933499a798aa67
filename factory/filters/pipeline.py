"""Runs a recipe over dialogues: batches flow through the filters in order; a dropped dialogue
is written to rejected.jsonl with every verdict it collected, a kept one to kept.jsonl with its
verdicts; report.json counts every filter's drops by reason (the funnel) and times it.
A malformed input line is reported by number and written to rejected.jsonl as
`malformed_input`; the run goes on. The three files are written as one set (filters/outputs.py):
an interrupted run leaves the previous set, never a mix or a half file."""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from factory.embedding_store import EmbeddingStore, store_root
from factory.errors import DataFileError, RunDirError
from factory.filters.base import Filter
from factory.filters.lines import MalformedWarnings, kept_line, read_inputs
from factory.filters.outputs import staged_outputs
from factory.filters.recipe import Recipe
from factory.filters.report import (
    EmbeddingsUsed,
    EmotionJudgeSummary,
    FilterReport,
    FilterSummary,
    JudgeSummary,
    RecipeInfo,
    ReportCounts,
    StepTally,
)
from factory.filters.transcript_pass import runs_on_transcripts, transcript_batches
from factory.jsonl import model_line
from factory.models import Dialogue, Verdict
from factory.progress import StepCounter
from factory.runs.run_dir import DIALOGUES_FILE, RunDir
from factory.staging import is_version_dir

log = logging.getLogger(__name__)

KEPT_FILE = "kept.jsonl"
REJECTED_FILE = "rejected.jsonl"
REPORT_FILE = "report.json"


@dataclass
class _Tally:
    """Running counts of one recipe run; `report` turns them into report.json's model."""

    steps: list[StepTally]
    read: int = 0
    malformed: int = 0
    kept: int = 0

    def report(
        self, source: str, recipe: Recipe, summaries: dict[str, FilterSummary], seconds: float
    ) -> FilterReport:
        rejected = self.malformed + sum(sum(s.dropped.values()) for s in self.steps)
        return FilterReport(
            input=source,
            recipe=RecipeInfo(name=recipe.name, path=str(recipe.path), sha256=recipe.sha256),
            counts=ReportCounts(
                input_lines=self.read + self.malformed,
                dialogues=self.read,
                malformed=self.malformed,
                kept=self.kept,
                rejected=rejected,
                kept_share=round(self.kept / self.read, 4) if self.read else 0.0,
            ),
            funnel=[s.step() for s in self.steps],
            summaries=summaries,
            seconds=round(seconds, 3),
        )


def input_file(path: Path) -> Path:
    """A dialogues .jsonl, or a run directory holding one (refused while `factory generate`
    is still writing it: the dialogues in flight would be missing)."""
    if path.is_dir():
        if RunDir(path).in_use():
            raise RunDirError(
                f"{path} is still being written by factory generate: wait for it to finish"
            )
        if not (path / DIALOGUES_FILE).is_file():
            if (path / KEPT_FILE).is_file():
                raise DataFileError(
                    f"{path} is a filter output, not a run directory: pass {path / KEPT_FILE}"
                )
            if is_version_dir(path):
                raise DataFileError(
                    f"{path} is a dataset version, which filter and curate do not read: pass"
                    " the dialogues files or run directories it was curated from"
                )
        path = path / DIALOGUES_FILE
    if not path.is_file():
        raise DataFileError(f"{path} not found: pass a dialogues .jsonl or a run directory")
    return path


def unfinished_run_warning(path: Path) -> str | None:
    """What to say when dialogues file `path` belongs to a run that is not complete (killed,
    stopped at its budget, failed): its dialogues are only part of what was asked for."""
    try:
        run = RunDir(path.parent).read_manifest()
    except RunDirError:
        return None  # not a run's manifest: curate refuses it, filter reads the file as it is
    if run is None or run.status == "complete":
        return None
    return (
        f"{path}: the run's status is '{run.status}', not complete: reading the dialogues"
        " it has (rerun its `factory generate` to finish it)"
    )


@dataclass
class Batch:
    """A batch on its way through filters: the dialogues still in, and the lines it adds to
    rejected.jsonl in the order one process writes them (malformed input read before it, then
    each filter's drops). `lines` holds the input line of each dialogue read and `origin`,
    for each dialogue still in, the index of its line there, or -1 once a filter has changed
    it (see `kept_line`); a batch made otherwise has neither."""

    dialogues: list[Dialogue]
    rejected: list[str] = field(default_factory=list)
    read: int = 0  # dialogues it held when read, for the progress line
    lines: list[bytes] = field(default_factory=list)
    origin: list[int] = field(default_factory=list)

    def kept_lines(self) -> list[str]:
        """kept.jsonl's lines for the dialogues still in."""
        if not self.origin:
            return [model_line(d) for d in self.dialogues]
        return [
            kept_line(d, self.lines[i] if i >= 0 else None)
            for d, i in zip(self.dialogues, self.origin, strict=True)
        ]


# Runs `filters` (counting into the matching `steps`) over each batch and yields every batch,
# in input order, with its survivors and drops: in this process, or on Ray (filters/ray_stages.py).
# With a store, the embedding filters were built on it (a Ray runner ships it to its actors).
BatchRunner = Callable[
    [Iterator[Batch], list[Filter[Any]], list[StepTally], EmbeddingStore | None],
    Iterator[Batch],
]


def run_in_process(
    batches: Iterator[Batch],
    filters: list[Filter[Any]],
    steps: list[StepTally],
    embeddings: EmbeddingStore | None = None,
) -> Iterator[Batch]:
    """The single-process runner: each batch through every filter, one after the other."""
    for batch in batches:
        batch.dialogues = run_filters(batch.dialogues, filters, steps, batch.rejected, batch.origin)
        yield batch


def run_recipe(
    source: Path | list[Path],
    recipe: Recipe,
    out_dir: Path,
    batch_size: int = 1000,
    warn: Callable[[str], None] = log.warning,
    progress: Callable[[str], None] | None = None,
    on_read: Callable[[Path, Dialogue], None] | None = None,
    kept_sink: Callable[[list[Dialogue]], None] | None = None,
    runner: BatchRunner = run_in_process,
    embeddings: EmbeddingStore | None = None,
    transcript_pass: bool = True,
) -> FilterReport:
    """Runs the recipe over one or more dialogue files or run directories, in order;
    `progress` hears counts and rates while it reads (every 10 s on a long run). With
    `on_read`, each dialogue read is shown to it with its file; with `kept_sink`, kept
    dialogues go to it a batch at a time, in order, instead of into kept.jsonl (curate).
    Whatever the runner, kept.jsonl and rejected.jsonl are the same bytes. The filters
    that embed read and fill `embeddings` (a store beside the input when None; see
    factory/embedding_store.py), and report.json counts what was embedded and reused.
    A recipe of dedup filters alone, in this process, takes filters/transcript_pass.py
    (the same files, faster); `transcript_pass=False` runs it the general way."""
    paths = [input_file(p) for p in (source if isinstance(source, list) else [source])]
    for path in paths:
        if (unfinished := unfinished_run_warning(path)) is not None:
            warn(unfinished)
    if embeddings is None:
        embeddings = EmbeddingStore(store_root(paths[0]))
    filters = recipe.build(embeddings)
    tally = _Tally([StepTally(f.name) for f in filters])
    started = time.perf_counter()
    # Filters up to the first that needs every dialogue stream batch by batch; the rest run
    # once, at the end, on what was held.
    split = next((i for i, f in enumerate(filters) if f.needs_all), len(filters))
    held: list[Dialogue] = []
    malformed = MalformedWarnings(warn, "put in rejected.jsonl")
    counter = StepCounter("filtering", progress or (lambda message: None))
    with (
        cycle_collection_paused(),
        staged_outputs(out_dir) as stage,
        (stage / KEPT_FILE).open("w", encoding="utf-8") as kept_file,
        (stage / REJECTED_FILE).open("w", encoding="utf-8") as rejected,
    ):

        def kept(batch: Batch) -> None:
            if not batch.dialogues:
                return
            tally.kept += len(batch.dialogues)
            if kept_sink is not None:
                kept_sink(batch.dialogues)
            else:
                kept_file.writelines(batch.kept_lines())

        if (
            transcript_pass
            and runner is run_in_process
            and kept_sink is None
            and runs_on_transcripts(filters)
        ):
            for lean in transcript_batches(
                paths, batch_size, filters, tally.steps, malformed, on_read
            ):
                tally.read += lean.read
                tally.malformed += lean.malformed
                tally.kept += len(lean.kept)
                rejected.writelines(lean.rejected)
                kept_file.writelines(lean.kept)
                counter.advance(lean.read)
        else:
            batches = _read_batches(paths, batch_size, tally, malformed, on_read)
            for batch in runner(batches, filters[:split], tally.steps[:split], embeddings):
                rejected.writelines(batch.rejected)
                if split < len(filters):
                    held.extend(batch.dialogues)
                else:
                    kept(batch)
                counter.advance(batch.read)
        counter.done()
        # An input that is not a dialogues file (raw ESConv, a parquet, a YAML) has failed
        # the run by now (lines.read_inputs), with no warning about its lines before.
        malformed.close(", each as malformed_input")
        if split < len(filters):
            # Held without their input lines (the whole input's bytes): written by serialising.
            last = Batch(held)
            last.dialogues = run_filters(held, filters[split:], tally.steps[split:], last.rejected)
            rejected.writelines(last.rejected)
            kept(last)
        summaries = {f.name: summary for f in filters if (summary := f.summary()) is not None}
        embeddings.flush()
        report = tally.report(
            ", ".join(map(str, paths)), recipe, summaries, time.perf_counter() - started
        )
        if any(f.embeds for f in filters):
            report.embeddings = EmbeddingsUsed.model_validate(embeddings.summary())
        kept_file.close()
        rejected.close()
        report.write(stage / REPORT_FILE)
    return report


@contextmanager
def cycle_collection_paused() -> Iterator[None]:
    """Python's automatic cycle collection paused for the block. With a batch of a thousand
    dialogues' pydantic objects alive at a time, the collector scans them again and again
    and costs more than parsing the input (bench/dedup.py: 15.3 s against 8.4 s for 20,000
    dialogues, the parse 1.6 s). Dialogues hold no reference cycles, so refcounting frees
    them as before; what cyclic garbage a filter makes waits for the block's end."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _read_batches(
    paths: list[Path],
    batch_size: int,
    tally: _Tally,
    malformed: MalformedWarnings,
    on_read: Callable[[Path, Dialogue], None] | None,
) -> Iterator[Batch]:
    """The input as batches of `batch_size` dialogues (the last one shorter, maybe empty);
    a malformed line is counted and rides, as its rejected line, with the next batch."""
    batch = Batch([])
    for dialogue, raw, rejected_line in read_inputs(paths, malformed, on_read):
        if dialogue is None:
            tally.malformed += 1
            batch.rejected.append(rejected_line)
            continue
        tally.read += 1
        batch.dialogues.append(dialogue)
        batch.origin.append(len(batch.lines))
        batch.lines.append(raw)
        batch.read += 1
        if batch.read >= batch_size:
            yield batch
            batch = Batch([])
    yield batch


def run_filters(
    batch: list[Dialogue],
    filters: list[Filter[Any]],
    steps: list[StepTally],
    rejected: list[str],
    origin: list[int] | None = None,
) -> list[Dialogue]:
    """Runs `filters` in order over the batch, counting into `steps` and adding each dropped
    dialogue, with its verdicts, to `rejected`; returns the survivors with theirs. The
    verdicts are gathered beside the dialogues and set once, at the end or at the drop: one
    copy of a dialogue, not one per filter. `origin` (Batch.origin, one per dialogue, or
    empty) is made the survivors', -1 for one a filter returned changed."""
    current = batch
    added: list[list[Verdict]] = [[] for _ in batch]
    where = list(origin) if origin else None
    for step, flt in zip(steps, filters, strict=True):
        if not current:
            break
        began = time.perf_counter()
        outcomes = flt.check_batch(current)
        step.seconds += time.perf_counter() - began
        step.entered += len(current)
        survivors, still, stays = [], [], []
        for k, (outcome, verdicts) in enumerate(zip(outcomes, added, strict=True)):
            verdicts.append(outcome.verdict)
            if outcome.verdict.keep:
                step.kept_reasons[outcome.verdict.reason] += 1
                survivors.append(outcome.dialogue)
                still.append(verdicts)
                if where is not None:
                    stays.append(where[k] if outcome.dialogue is current[k] else -1)
            else:
                step.dropped[outcome.verdict.reason] += 1
                rejected.append(model_line(outcome.dialogue.with_verdicts(verdicts)))
        current, added = survivors, still
        if where is not None:
            where = stays
    if origin is not None and where is not None:
        origin[:] = where
    return [d.with_verdicts(v) for d, v in zip(current, added, strict=True)]


def render_funnel(report: FilterReport) -> str:
    """The funnel as a small table: what entered each filter, what it dropped, and why."""
    lines = [f"{'filter':<22}{'in':>8}{'dropped':>9}{'kept':>8}  reasons"]
    if report.malformed:
        lines.append(
            f"{'input':<22}{report.read + report.malformed:>8}{report.malformed:>9}{report.read:>8}  malformed_input {report.malformed}"
        )
    for step in report.funnel:
        reasons = ", ".join(f"{r} {n}" for r, n in step.drop_reasons.items())
        lines.append(
            f"{step.filter:<22}{step.entered:>8}{step.dropped:>9}{step.kept:>8}  {reasons}"
        )
    share = 100 * report.kept / report.read if report.read else 0.0
    lines.append(f"kept {report.kept} of {report.read} dialogues ({share:.1f}%)")
    if isinstance(judge := report.summaries.get("judge"), JudgeSummary):
        lines.append(
            f"judge {judge.model}: {judge.judged} scored (combined mean {judge.combined_mean}),"
            f" {judge.calls_text()}"
        )
    if isinstance(emotion := report.summaries.get("emotion_judge"), EmotionJudgeSummary):
        fits = " ".join(f"{k}:{n}" for k, n in emotion.fits.items())
        lines.append(
            f"emotion judge {emotion.model}: {emotion.judged} scored (fits {fits or 'none'}),"
            f" {emotion.calls_text()}"
        )
    return "\n".join(lines)
