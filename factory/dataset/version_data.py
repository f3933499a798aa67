"""What a curate keeps, streamed in two passes over the recipe's kept.jsonl, holding only
compact state, so a million dialogues curate in bounded memory:

1. each kept dialogue is checked for a repeated id, then against the evaluation sets and the
   dataset's published versions, a batch at a time; the survivors' lines are copied to a
   file in order while their scenario and persona ids (for the splits) and the statistics
   are tallied;
2. the splits are drawn from those ids, and the survivors are read again and written to
   their split's parquet file and ESConv export (and preference pairs, when asked for), a
   row group at a time.

Each check's drops are appended to rejected.jsonl after the recipe's, check by check, and
counted as funnel steps in that order, as when the whole set was held."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from factory.dataset.decontaminate import Decontaminator
from factory.dataset.manifest import DataFile, DecontaminationCheck, PublishedCheck
from factory.dataset.preferences import (
    PreferenceBuilder,
    PreferenceConfig,
    PreferenceCounts,
    PreferenceResult,
    preference_schema,
)
from factory.dataset.published import PublishedCopies
from factory.dataset.split_writer import ParquetRows, SplitFiles, sha256_file
from factory.dataset.splits import SplitAssigner
from factory.dataset.stats import DatasetStats, StatsTally
from factory.dataset.table import SPLITS
from factory.filters.report import FilterReport, FunnelStep
from factory.jsonl import json_line
from factory.models import Dialogue, Usage, Verdict
from factory.progress import StepCounter

BATCH = 1000
Check = Decontaminator | PublishedCopies


@dataclass
class Survivors:
    """The dialogues that passed every check: their lines (in order, in `path`), each one's
    split (an index into SPLITS), the statistics, and what the checks recorded."""

    path: Path
    count: int
    splits: bytearray
    stats: DatasetStats
    duplicates: int
    decontamination: DecontaminationCheck | None = None
    published: PublishedCheck | None = None
    split_counts: dict[str, int] = field(default_factory=dict)


def _rejected_line(dialogue: Dialogue, verdict: Verdict) -> str:
    row = dialogue.model_copy(update={"verdicts": [*dialogue.verdicts, verdict]})
    return json_line(row.model_dump(mode="json", exclude_none=True))


def _lines(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        yield from (line for line in handle if line.strip())


def settle(
    kept: Path,
    report: FilterReport,
    rejected: Path,
    checks: list[Check],
    fractions: tuple[float, float, float],
    seed: int,
    progress: StepCounter | None = None,
) -> Survivors:
    """Pass 1 over `kept` (the recipe's kept lines): repeated ids, then each check in order.
    Fills in the report's funnel and counts as the checks drop; `kept` is removed."""
    folder = rejected.parent
    survivors_path = folder / ".survivors.jsonl"
    seen: set[str] = set()
    assigner, tally = SplitAssigner(), StatsTally()
    drops: list[IO[str]] = [
        (folder / f".drops-{i}.jsonl").open("w", encoding="utf-8") for i in range(len(checks) + 1)
    ]
    duplicates = entered = 0
    unique_id = Verdict(filter="unique_id", keep=False, reason="duplicate_id")
    with survivors_path.open("wb") as out:

        def settle_batch(batch: list[tuple[bytes, Dialogue]]) -> None:
            nonlocal duplicates
            passing = []
            for raw, dialogue in batch:
                if dialogue.id in seen:
                    duplicates += 1
                    drops[0].write(_rejected_line(dialogue, unique_id))
                else:
                    seen.add(dialogue.id)
                    passing.append((raw, dialogue))
            for check, handle in zip(checks, drops[1:], strict=True):
                verdicts = check.check([d for _, d in passing]) if passing else []
                still = []
                for (raw, dialogue), verdict in zip(passing, verdicts, strict=True):
                    if verdict is None:
                        still.append((raw, dialogue))
                    else:
                        handle.write(_rejected_line(dialogue, verdict))
                passing = still
            for raw, dialogue in passing:
                out.write(raw if raw.endswith(b"\n") else raw + b"\n")
                assigner.add(dialogue.scenario.id, dialogue.persona.id)
                tally.add(dialogue)
            if progress is not None:
                progress.advance(len(batch))

        batch: list[tuple[bytes, Dialogue]] = []
        for raw in _lines(kept):
            entered += 1
            batch.append((raw, Dialogue.model_validate_json(raw)))
            if len(batch) >= BATCH:
                settle_batch(batch)
                batch = []
        settle_batch(batch)
    if progress is not None:
        progress.done()
    kept.unlink()
    for handle in drops:
        handle.close()
    with rejected.open("a", encoding="utf-8") as target:
        for i in range(len(drops)):
            part = folder / f".drops-{i}.jsonl"
            with part.open(encoding="utf-8") as source:
                shutil.copyfileobj(source, target)
            part.unlink()
    if duplicates:
        _unique_id_step(report, entered, duplicates)
    result = Survivors(
        survivors_path,
        len(assigner),
        assigner.splits(fractions, seed),
        tally.stats(),
        duplicates,
    )
    for check in checks:
        if isinstance(check, Decontaminator):
            result.decontamination = check.finish(report)
        else:
            result.published = check.finish(report)
    result.split_counts = {s: result.splits.count(i) for i, s in enumerate(SPLITS)}
    return result


def _unique_id_step(report: FilterReport, entered: int, duplicates: int) -> None:
    """The funnel's `unique_id` step: the first dialogue of each id stays (shown only when it
    dropped something)."""
    kept = entered - duplicates
    report.funnel.append(
        FunnelStep(
            filter="unique_id",
            entered=entered,
            kept=kept,
            dropped=duplicates,
            drop_reasons={"duplicate_id": duplicates},
            keep_reasons={"ok": kept},
            seconds=0.0,
        )
    )
    counts = report.counts
    counts.kept = kept
    counts.rejected += duplicates
    counts.kept_share = round(counts.kept / counts.dialogues, 4) if counts.dialogues else 0.0


@dataclass
class WrittenData:
    split_files: dict[str, str]
    data_files: dict[str, DataFile]
    preferences: PreferenceResult | None
    preference_files: dict[str, str]


def write_data(
    folder: Path,
    survivors: Survivors,
    system_prompt: str,
    preferences: PreferenceConfig | None = None,
    progress: StepCounter | None = None,
) -> WrittenData:
    """Pass 2: each survivor into its split's files (and its preference pairs into the
    `preferences` config's split file, built a batch at a time); the survivors file is
    removed."""
    files = {split: SplitFiles(folder, split, system_prompt) for split in SPLITS}
    builder = PreferenceBuilder(preferences, system_prompt) if preferences else None
    pair_files = {s: ParquetRows(folder, "preferences", s, preference_schema()) for s in SPLITS}
    waiting: dict[str, list[Dialogue]] = {s: [] for s in SPLITS}
    built = PreferenceResult(judge_prompt=builder.judge.sha256) if builder else None

    def pairs_for(split: str) -> None:
        if builder is None or built is None or not waiting[split]:
            return
        result = asyncio.run(builder.build(waiting[split]))
        waiting[split] = []
        _merge(built, result)
        for pair in result.pairs:
            pair_files[split].add(pair.model_dump())

    for raw, split_index in zip(_lines(survivors.path), survivors.splits, strict=True):
        split = SPLITS[split_index]
        dialogue = Dialogue.model_validate_json(raw)
        files[split].add(dialogue)
        if builder is not None:
            waiting[split].append(dialogue)
            if len(waiting[split]) >= BATCH:
                pairs_for(split)
        if progress is not None:
            progress.advance(1)
    if progress is not None:
        progress.done()
    survivors.path.unlink()
    split_files: dict[str, str] = {}
    data_files: dict[str, DataFile] = {}
    for split in SPLITS:
        written = files[split].close()
        if written:
            split_files[split] = written[0]
            for relative in written:
                data_files[relative] = _data_file(folder, relative, files[split].parquet.rows)
    preference_files: dict[str, str] = {}
    if builder is not None:
        for split in SPLITS:
            pairs_for(split)
            pair_file = pair_files[split].close()
            if pair_file is not None:
                preference_files[split] = pair_file
                data_files[pair_file] = _data_file(folder, pair_file, pair_files[split].rows)
    return WrittenData(split_files, data_files, built, preference_files)


def _data_file(folder: Path, relative: str, rows: int) -> DataFile:
    return DataFile(sha256=sha256_file(folder / relative), rows=rows)


def _merge(total: PreferenceResult, part: PreferenceResult) -> None:
    """Adds one batch's counts and usage to the running result (pairs are written, not kept)."""
    fields = PreferenceCounts.model_fields
    total.counts = PreferenceCounts.model_validate(
        {k: getattr(total.counts, k) + getattr(part.counts, k) for k in fields}
    )
    usage = Usage.model_validate(total.usage.model_dump())
    usage.add(part.usage)
    total.usage = usage
