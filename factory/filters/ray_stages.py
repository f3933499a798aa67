"""`factory filter --ray`: runs of consecutive stateless filters (filters/base.py) are stages
that Ray actors run, a batch at a time, several batches in flight; the other filters (dedup,
boilerplate, the judge) run in the driver between stages, on each batch in input order.
Batches leave in input order with their drops in the order one process makes them, so
kept.jsonl and rejected.jsonl are the same bytes as without --ray. Each actor is sent the
stateless filters once and keeps them: an embedding filter loads its model once per actor,
and only when the run's embedding store (shipped without its vectors; each actor reads the
shards and writes its new vectors as shards of its own) lacks a text. The texts of the
driver's embedding filters (semantic dedup) are embedded on the actors too, ahead of them,
and sent back with the batch."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from factory.embedding_store import EmbeddingStore, StageCounts, text_keys
from factory.filters.base import Filter
from factory.filters.pipeline import Batch, run_filters, run_in_process
from factory.filters.report import StepTally
from factory.models import Dialogue
from factory.runs.ray_tasks import RayOptions, connect, worker_error


@dataclass
class _Segment:
    """Filters [first, last) of the runner's list: a stage for the actors, or the driver's."""

    first: int
    last: int
    remote: bool
    turn: int = 0  # the driver's segments: the batch to run next (they run in input order)


@dataclass
class _Job:
    """One batch: the segment it is at, its stage in flight, and its actors' counts."""

    index: int
    batch: Batch
    segment: int = 0
    ref: Any = None
    counts: list[tuple[int, list[StepTally]]] = field(default_factory=list)


def segments(filters: list[Filter[Any]]) -> list[_Segment]:
    """The filters cut where `stateless` changes."""
    cut: list[_Segment] = []
    for i, flt in enumerate(filters):
        if cut and cut[-1].remote == flt.stateless:
            cut[-1].last = i + 1
        else:
            cut.append(_Segment(i, i + 1, flt.stateless))
    return cut


Prefetched = list[tuple[Any, Any]]  # (keys, vectors) embedded for a driver filter


_AHEAD = "(embedded ahead of a driver filter)"


class StageWorker:
    """A Ray actor holding the stateless filters, by their place in the recipe, and the
    driver's embedding filters, whose texts it embeds ahead of them (their state is not
    used here: only which texts they embed)."""

    def __init__(self, shipped: tuple[dict[int, Filter[Any]], EmbeddingStore | None]) -> None:
        self.filters, self.embeddings = shipped

    def run(
        self, first: int, last: int, dialogues: list[Dialogue], ahead: list[int], origin: list[int]
    ) -> tuple[
        list[Dialogue], list[int], list[str], list[StepTally], dict[str, StageCounts], Prefetched
    ]:
        chosen = [self.filters[i] for i in range(first, last)]
        steps = [StepTally(f.name) for f in chosen]
        rejected: list[str] = []
        survivors = run_filters(dialogues, chosen, steps, rejected, origin)
        counts: dict[str, StageCounts] = {}
        prefetched: Prefetched = []
        if self.embeddings is not None:
            for i in ahead:
                texts = self.filters[i].embedding_texts(survivors)
                if texts:
                    vectors = self.embeddings.embed(texts, _AHEAD)
                    prefetched.append((text_keys(texts), vectors))
            self.embeddings.flush()  # an actor is killed, never closed: write as it goes
            counts, self.embeddings.counts = self.embeddings.counts, {}
            # The driver's filter counts what it asks for (a dialogue embedded ahead may be
            # dropped before it), as in one process.
            counts.pop(_AHEAD, None)
        return survivors, origin, rejected, steps, counts, prefetched


class RayStages:
    """A pipeline.BatchRunner: the stateless stages on `actors` Ray actors (one per cluster
    CPU by default), at most two batches queued per actor."""

    def __init__(self, options: RayOptions, actors: int | None = None) -> None:
        self.options = options
        self.actors = actors

    def __call__(
        self,
        batches: Iterator[Batch],
        filters: list[Filter[Any]],
        steps: list[StepTally],
        embeddings: EmbeddingStore | None = None,
    ) -> Iterator[Batch]:
        cut = segments(filters)
        if not any(s.remote for s in cut):
            yield from run_in_process(batches, filters, steps, embeddings)
            return
        ray = connect(self.options)
        if embeddings is not None:
            embeddings.open()  # before the actors write to it
        # One object, so the filters' encoders and the store an actor flushes are one store.
        # The driver's embedding filters travel too, before they have seen a dialogue.
        shipped = ray.put(
            ({i: f for i, f in enumerate(filters) if f.stateless or f.embeds}, embeddings)
        )
        count = self.actors or max(1, int(ray.cluster_resources().get("CPU", 1)))
        worker = ray.remote(num_cpus=1)(StageWorker)
        actors = [worker.remote(shipped) for _ in range(count)]
        try:
            yield from _Schedule(ray, actors, filters, steps, cut, embeddings).run(batches)
        finally:
            for actor in actors:
                ray.kill(actor)


class _Schedule:
    """Moves batches through the segments: a stage goes to the next actor as soon as its
    batch reaches it, a driver segment waits for the batch before to pass it."""

    def __init__(
        self,
        ray: Any,
        actors: list[Any],
        filters: list[Filter[Any]],
        steps: list[StepTally],
        cut: list[_Segment],
        embeddings: EmbeddingStore | None = None,
    ) -> None:
        self.ray, self.actors, self.filters, self.steps, self.cut = ray, actors, filters, steps, cut
        self.embeddings = embeddings
        # The driver's embedding filters, each by the last actor stage before it: that stage
        # embeds their texts, so the driver reads them instead of running the model.
        self.ahead: dict[int, list[int]] = {}
        for i, flt in enumerate(filters):
            before = [n for n, seg in enumerate(cut) if seg.remote and seg.last <= i]
            if flt.embeds and not flt.stateless and before:
                self.ahead.setdefault(before[-1], []).append(i)
        self.in_flight: dict[Any, _Job] = {}
        self.sent = 0

    def run(self, batches: Iterator[Batch]) -> Iterator[Batch]:
        window = 2 * len(self.actors) + 1
        pending: deque[_Job] = deque()
        source = enumerate(batches)
        exhausted = False
        while True:
            while not exhausted and len(pending) < window:
                item = next(source, None)
                if item is None:
                    exhausted = True
                else:
                    pending.append(_Job(*item))
            for job in pending:  # in input order: the driver's segments take batches in turn
                self._advance(job)
            if pending and pending[0].segment == len(self.cut):
                done = pending.popleft()
                # Counted in input order, so equal counts are listed as one process lists them.
                for first, counted in done.counts:
                    for step, count in zip(self.steps[first:], counted, strict=False):
                        step.add(count)
                yield done.batch
            elif self.in_flight:
                self._collect()
            else:
                assert not pending, "a batch waits on nothing"  # the head never waits
                return

    def _advance(self, job: _Job) -> None:
        while job.ref is None and job.segment < len(self.cut):
            seg = self.cut[job.segment]
            if seg.remote and job.batch.dialogues:
                actor = self.actors[self.sent % len(self.actors)]
                self.sent += 1
                ahead = self.ahead.get(job.segment, [])
                job.ref = actor.run.remote(
                    seg.first, seg.last, job.batch.dialogues, ahead, job.batch.origin
                )
                self.in_flight[job.ref] = job
                return
            if not seg.remote:
                if seg.turn != job.index:
                    return
                job.batch.dialogues = run_filters(
                    job.batch.dialogues,
                    self.filters[seg.first : seg.last],
                    self.steps[seg.first : seg.last],
                    job.batch.rejected,
                    job.batch.origin,
                )
                seg.turn += 1
            job.segment += 1

    def _collect(self) -> None:
        """Waits for one stage to come back and moves its batch past it."""
        ready, _ = self.ray.wait(list(self.in_flight), num_returns=1)
        job = self.in_flight.pop(ready[0])
        try:
            survivors, origin, rejected, counted, embedded, prefetched = self.ray.get(ready[0])
        except self.ray.exceptions.RayError as exc:
            raise worker_error(exc, "fix it and rerun the filter") from None
        if self.embeddings is not None:
            self.embeddings.add_counts(embedded)
            for keys, vectors in prefetched:
                self.embeddings.adopt(keys, vectors)
        job.batch.dialogues, job.batch.origin = survivors, origin
        job.batch.rejected.extend(rejected)
        job.counts.append((self.cut[job.segment].first, counted))
        job.ref = None
        job.segment += 1
