"""What a curate keeps, streamed in two passes over the recipe's kept.jsonl, holding only
compact state, so a million dialogues curate in bounded memory:

1. each kept dialogue, handed over by the recipe's run a batch at a time, is checked for a
   repeated id, then against the evaluation sets and the dataset's published versions; the
   survivors are written to a file in order while their scenario and persona ids (for the
   splits) and the statistics are tallied;
2. the splits are drawn from those ids, and the survivors are read back and written to
   their split's parquet file and ESConv export (and preference pairs, when asked for), a
   row group at a time.

Each check's drops are appended to rejected.jsonl after the recipe's, check by check, and
counted as funnel steps in that order, as when the whole set was held."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from factory.dataset.decisions import HumanReview
from factory.dataset.decontaminate import Decontaminator
from factory.dataset.manifest import DataFile, DecontaminationCheck, PublishedCheck, ReviewInfo
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
from factory.dataset.training_chat import TrainingChat
from factory.filters.report import FilterReport, FunnelStep
from factory.jsonl import model_line
from factory.models import Dialogue, Usage, Verdict
from factory.progress import StepCounter

BATCH = 1000
Check = HumanReview | Decontaminator | PublishedCopies


@dataclass
class Survivors:
    """The dialogues that passed every check: their lines (in order, in `path`), each one's
    split (an index into SPLITS), the statistics, and what the checks recorded."""

    path: Path
    splits: bytearray
    stats: DatasetStats
    duplicates: int
    decontamination: DecontaminationCheck | None = None
    published: PublishedCheck | None = None
    review: ReviewInfo | None = None

    @property
    def count(self) -> int:
        return len(self.splits)

    @property
    def split_counts(self) -> dict[str, int]:
        return {s: self.splits.count(i) for i, s in enumerate(SPLITS)}


def _rejected_line(dialogue: Dialogue, verdict: Verdict) -> str:
    return model_line(dialogue.with_verdicts([verdict]))


def _lines(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        yield from (line for line in handle if line.strip())


class Settler:
    """Pass 1, fed the recipe's kept dialogues a batch at a time (`run_recipe`'s kept_sink):
    repeated ids, then each check in order. Survivors are written to a file in `folder` (as
    compact JSON: it is read back once, never published); each check's drops to a file of
    its own, joined to rejected.jsonl by `finish`."""

    def __init__(
        self,
        folder: Path,
        checks: list[Check],
        fractions: tuple[float, float, float],
        seed: int,
    ) -> None:
        self.folder, self.checks, self.fractions, self.seed = folder, checks, fractions, seed
        self.path = folder / ".survivors.jsonl"
        self._out = self.path.open("w", encoding="utf-8")
        self._drops: list[IO[str]] = [
            (folder / f".drops-{i}.jsonl").open("w", encoding="utf-8")
            for i in range(len(checks) + 1)
        ]
        self._seen: set[str] = set()
        self._assigner, self._tally = SplitAssigner(), StatsTally()
        self.entered = self.duplicates = 0

    def __call__(self, batch: list[Dialogue]) -> None:
        self.entered += len(batch)
        passing = []
        for dialogue in batch:
            if dialogue.id in self._seen:
                self.duplicates += 1
                self._drops[0].write(_rejected_line(dialogue, _UNIQUE_ID))
            else:
                self._seen.add(dialogue.id)
                passing.append(dialogue)
        self._check(passing)

    def rescue(self, rejected: Path) -> None:
        """After the recipe: what a person kept is taken out of its rejected.jsonl and goes
        through the checks after the recipe's kept dialogues (never through the id check:
        a rescue never repeats a kept id)."""
        for check in self.checks:
            if isinstance(check, HumanReview):
                rescued = check.rescue(rejected, self._seen)
                for start in range(0, len(rescued), BATCH):
                    self._check(rescued[start : start + BATCH])

    def _check(self, passing: list[Dialogue]) -> None:
        for check, handle in zip(self.checks, self._drops[1:], strict=True):
            verdicts = check.check(passing) if passing else []
            still = []
            for dialogue, verdict in zip(passing, verdicts, strict=True):
                if verdict is None:
                    still.append(dialogue)
                else:
                    handle.write(_rejected_line(dialogue, verdict))
            passing = still
        for dialogue in passing:
            self._out.write(model_line(dialogue))
            self._assigner.add(dialogue.scenario.id, dialogue.persona.id)
            self._tally.add(dialogue)

    def close(self) -> None:
        """Closes the files (also when the run failed; the folder is removed then)."""
        self._out.close()
        for handle in self._drops:
            handle.close()

    def finish(self, report: FilterReport, rejected: Path) -> Survivors:
        """Appends the checks' drops to `rejected` and counts them in the report's funnel, in
        the order the checks ran."""
        self.close()
        with rejected.open("a", encoding="utf-8") as target:
            for i in range(len(self._drops)):
                part = self.folder / f".drops-{i}.jsonl"
                with part.open(encoding="utf-8") as source:
                    shutil.copyfileobj(source, target)
                part.unlink()
        if self.duplicates:
            _unique_id_step(report, self.entered, self.duplicates)
        result = Survivors(
            self.path,
            self._assigner.splits(self.fractions, self.seed),
            self._tally.stats(),
            self.duplicates,
        )
        for check in self.checks:
            if isinstance(check, HumanReview):
                result.review = check.finish(report)
            elif isinstance(check, Decontaminator):
                result.decontamination = check.finish(report)
            else:
                result.published = check.finish(report)
        return result


_UNIQUE_ID = Verdict(filter="unique_id", keep=False, reason="duplicate_id")


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
    strategy_files: dict[str, str]
    data_files: dict[str, DataFile]
    preferences: PreferenceResult | None
    preference_files: dict[str, str]


def write_data(
    folder: Path,
    survivors: Survivors,
    chat: TrainingChat,
    preferences: PreferenceConfig | None = None,
    progress: StepCounter | None = None,
) -> WrittenData:
    """Pass 2: each survivor into its split's files (and its preference pairs into the
    `preferences` config's split file, built a batch at a time); the survivors file is
    removed."""
    files = {split: SplitFiles(folder, split, chat) for split in SPLITS}
    builder = PreferenceBuilder(preferences, chat.system_prompt) if preferences else None
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
            pair_files[split].add(chat.pair_row(split, pair.model_dump()))

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
    strategy_files: dict[str, str] = {}
    data_files: dict[str, DataFile] = {}
    for split in SPLITS:
        written = files[split].close()
        if written:
            split_files[split], strategy_files[split] = written[0], written[1]
            for relative in written:
                data_files[relative] = data_file(folder, relative, files[split].parquet.rows)
    preference_files: dict[str, str] = {}
    if builder is not None:
        for split in SPLITS:
            pairs_for(split)
            pair_file = pair_files[split].close()
            if pair_file is not None:
                preference_files[split] = pair_file
                data_files[pair_file] = data_file(folder, pair_file, pair_files[split].rows)
    return WrittenData(split_files, strategy_files, data_files, built, preference_files)


def data_file(folder: Path, relative: str, rows: int) -> DataFile:
    """A data file's manifest entry: its hash and row count."""
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
