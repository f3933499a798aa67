"""A recipe made only of filters that read a dialogue's id and normalised transcript (exact
and near dedup, `Filter.transcript_only`) runs here without holding parsed dialogues. Each
line is parsed, the turns are joined for normalising while the new objects are still in
the CPU cache, and the dialogue is let go; a batch holds ids, joined turns and input lines.

Why: a parsed dialogue takes about 29 KB of Python objects. Holding a thousand of them
while the filters work (the general path) made reading and parsing 1.4-1.6x slower on the
development machine, as they no longer fit in its caches (bench/dedup.py --held).

kept.jsonl, rejected.jsonl and the report's counts are the same as the general path's
(tests/test_transcript_pass.py compares them). A kept line is its input line with the
verdicts spliced in; a line this cannot splice, and every rejected line, is parsed again
and serialised as the general path writes it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from factory.filters.base import Filter
from factory.filters.lines import MalformedWarnings, read_inputs, spliced_line
from factory.filters.report import StepTally
from factory.jsonl import model_line
from factory.models import Dialogue, Verdict
from factory.text import normalise_parts, normalised_transcript, transcript_part


@dataclass
class LineBatch:
    """A batch of dialogues as ids, joined turns (`transcript_part`) and input lines, with
    what it adds to kept.jsonl and rejected.jsonl once judged."""

    ids: list[str] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)
    turns: list[int] = field(default_factory=list)
    lines: list[bytes] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # malformed input first, as read
    kept: list[str] = field(default_factory=list)
    malformed: int = 0

    @property
    def read(self) -> int:
        return len(self.ids)


def runs_on_transcripts(filters: list[Filter[Any]]) -> bool:
    """Whether every filter of a recipe judges from ids and transcripts alone."""
    return bool(filters) and all(f.transcript_only for f in filters)


def transcript_batches(
    paths: list[Path],
    batch_size: int,
    filters: list[Filter[Any]],
    steps: list[StepTally],
    malformed: MalformedWarnings,
    on_read: Callable[[Path, Dialogue], None] | None = None,
) -> Iterator[LineBatch]:
    """The input in batches of `batch_size` dialogues, each judged by `filters` (counted
    into `steps`), in input order; the last batch may be short or empty. A malformed line
    rides, as its rejected line, with the batch being read."""
    batch = LineBatch()
    for dialogue, raw, rejected_line in read_inputs(paths, malformed, on_read):
        if dialogue is None:
            batch.malformed += 1
            batch.rejected.append(rejected_line)
            continue
        # Only these are kept: the dialogue is freed as the next line is read, while its
        # objects are still in the cache.
        batch.ids.append(dialogue.id)
        batch.parts.append(transcript_part(dialogue))
        batch.turns.append(len(dialogue.turns))
        batch.lines.append(raw)
        if batch.read >= batch_size:
            _judge(batch, filters, steps)
            yield batch
            batch = LineBatch()
    _judge(batch, filters, steps)
    yield batch


def _judge(batch: LineBatch, filters: list[Filter[Any]], steps: list[StepTally]) -> None:
    """Runs the filters over the batch as `pipeline.run_filters` does: each filter sees the
    survivors of the ones before it, a drop's line carries every verdict it collected."""
    began = time.perf_counter()
    transcripts = normalise_parts(batch.parts, batch.turns)
    if transcripts is None:  # a text holds a separator byte: one at a time, as text.py does
        transcripts = [normalised_transcript(_parsed(line)) for line in batch.lines]
    normalising = time.perf_counter() - began
    current = list(range(batch.read))
    verdicts: list[list[Verdict]] = [[] for _ in current]
    for k, (step, flt) in enumerate(zip(steps, filters, strict=True)):
        if not current:
            break
        began = time.perf_counter()
        said = flt.check_transcripts(
            [batch.ids[i] for i in current], [transcripts[i] for i in current]
        )
        # The general path normalises inside the first filter, so the time is counted there.
        step.seconds += time.perf_counter() - began + (normalising if k == 0 else 0.0)
        step.entered += len(current)
        survivors = []
        for i, verdict in zip(current, said, strict=True):
            verdicts[i].append(verdict)
            if verdict.keep:
                step.kept_reasons[verdict.reason] += 1
                survivors.append(i)
            else:
                step.dropped[verdict.reason] += 1
                batch.rejected.append(
                    model_line(_parsed(batch.lines[i]).with_verdicts(verdicts[i]))
                )
        current = survivors
    batch.kept = [_kept_line(batch.lines[i], verdicts[i]) for i in current]


def _kept_line(line: bytes, verdicts: list[Verdict]) -> str:
    spliced = spliced_line(line, verdicts)
    return spliced if spliced is not None else model_line(_parsed(line).with_verdicts(verdicts))


def _parsed(line: bytes) -> Dialogue:
    return Dialogue.model_validate_json(line)  # it parsed when read
