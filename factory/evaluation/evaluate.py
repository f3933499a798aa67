"""`factory eval`: measure a set of dialogues (a dialogues .jsonl, a run directory or a dataset
version), optionally beside a reference set, and write report.json, report.md and PNG plots."""

from __future__ import annotations

import shutil
import tempfile
import time
from array import array
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from factory.counting import jensen_shannon
from factory.embedding_store import EmbeddingStore, store_root
from factory.errors import MissingExtra, RunDirError, TooFewDialogues
from factory.evaluation.markdown import render_markdown
from factory.evaluation.measures import Measurement
from factory.evaluation.plots import PLOTS, plot_all
from factory.evaluation.report import Comparison, EvalReport, MeasuredSet, Subject
from factory.evaluation.sources import DialogueSource
from factory.evaluation.tally import SetTally
from factory.filters.report import EmbeddingsUsed
from factory.progress import StepCounter
from factory.text import transcript_digest


@dataclass
class Measured:
    """One set after its pass: where it came from, its tally and its transcripts' digests."""

    source: DialogueSource
    tally: SetTally
    digests: array[int]


def measure_source(source: DialogueSource, say: Callable[[str], None]) -> Measured:
    """One streaming pass over the set, with progress on long ones."""
    tally, digests = SetTally(), array("Q")
    counter = StepCounter(f"measuring {source.path.name}", say)
    for dialogue in source:
        tally.add(dialogue)
        digests.append(int.from_bytes(transcript_digest(dialogue)[:8], "big"))
        counter.advance()
    counter.done()
    return Measured(source, tally, digests)


def evaluate(
    path: Path,
    out: Path,
    reference: Path | None = None,
    realism: bool = True,
    sample_size: int = 100,
    seed: int = 0,
    warn: Callable[[str], None] = lambda message: None,
    progress: Callable[[str], None] = lambda message: None,
    embeddings: EmbeddingStore | None = None,
    reference_embeddings: EmbeddingStore | None = None,
) -> EvalReport:
    """Measure the set at `path` (and the reference), compare them, and write report.json,
    report.md and the plots into `out`, all or nothing. Each set is read as a stream: its
    measures are running aggregates, and what needs a sample is drawn and re-read. Realism
    reads and fills the embedding stores of both sets (by default beside each)."""
    started = time.perf_counter()
    subject_source = DialogueSource(path, warn=warn)
    ref_source = DialogueSource(reference, "reference", warn=warn) if reference else None
    subject = measure_source(subject_source, progress)
    ref = measure_source(ref_source, progress) if ref_source else None
    mine = subject.tally.measurement(subject_source.fetch, sample_size=sample_size, seed=seed)
    theirs = (
        ref.tally.measurement(ref.source.fetch, sample_size=sample_size, seed=seed) if ref else None
    )
    skipped = dict(mine.skipped)
    comparison = Comparison()
    stores: list[EmbeddingStore] = []
    if theirs is not None and ref is not None and reference is not None:
        if realism:
            stores = _stores(path, reference, embeddings, reference_embeddings)
        comparison = _compare(subject, mine, ref, theirs, stores, seed, skipped)
        skipped.update({f"reference: {k}": why for k, why in theirs.skipped.items()})
    else:
        skipped["comparison"] = "no --reference given"
    report = EvalReport(
        input=Subject(
            path=str(path), kind=subject_source.kind, malformed_lines=subject_source.malformed
        ),
        reference=MeasuredSet(path=str(reference), kind=ref_source.kind) if ref_source else None,
        measures=mine.measures,
        reference_measures=theirs.measures if theirs else None,
        comparison=comparison,
        skipped=skipped,
        plots=[],
        seconds=0.0,
    )
    for store in stores:
        store.flush()
    if stores and any(s.counts for s in stores):
        report.embeddings = [
            EmbeddingsUsed.model_validate(s.summary()) for s in dict.fromkeys(stores)
        ]
    with _staging(out) as staging:
        report.plots = plot_all(staging, subject.tally, ref.tally if ref else None, report)
        report.seconds = round(time.perf_counter() - started, 2)
        (staging / "report.json").write_text(report.to_json(), encoding="utf-8")
        (staging / "report.md").write_text(render_markdown(report), encoding="utf-8")
    return report


def _stores(
    path: Path,
    reference: Path,
    embeddings: EmbeddingStore | None,
    reference_embeddings: EmbeddingStore | None,
) -> list[EmbeddingStore]:
    """The embedding stores of the subject and of the reference (one, when they share it)."""
    mine = embeddings or EmbeddingStore(store_root(path))
    if reference_embeddings is None:
        root = store_root(reference)
        same = root is not None and mine.root is not None and root.resolve() == mine.root.resolve()
        reference_embeddings = mine if same else EmbeddingStore(root)
    return [mine, reference_embeddings]


def _compare(
    subject: Measured,
    mine: Measurement,
    ref: Measured,
    theirs: Measurement,
    stores: list[EmbeddingStore],
    seed: int,
    skipped: dict[str, str],
) -> Comparison:
    """The comparison with the reference; realism only with `stores` (ours, theirs)."""
    comparison = Comparison()
    theirs_digests = set(ref.digests)
    comparison.shared_with_reference = sum(d in theirs_digests for d in subject.digests)
    warnings = []
    if comparison.shared_with_reference:
        warnings.append(
            f"{comparison.shared_with_reference} of the {subject.tally.dialogues} dialogues are"
            " also in the reference: every comparison below is partly the set against itself"
        )
    if mine.measures.strategy is not None and theirs.measures.strategy is not None:
        comparison.strategy_jsd = jensen_shannon(mine.measures.strategy, theirs.measures.strategy)
    else:
        skipped["strategy_jsd"] = "strategies are missing on one side"
    if not stores:
        skipped["realism"] = "switched off (--no-realism)"
        comparison.warnings = warnings or None
        return comparison
    try:
        from factory.evaluation.realism import sampled_realism_auc

        comparison.realism = sampled_realism_auc(
            (subject.tally.dialogues, subject.source.fetch),
            (ref.tally.dialogues, ref.source.fetch),
            encoder=stores[0].encoder("realism"),
            seed=seed,
            their_encoder=stores[1].encoder("realism"),
        )
    except (ImportError, MissingExtra) as exc:
        missing = exc.package if isinstance(exc, MissingExtra) else exc.name
        skipped["realism"] = f"needs the `embed` extra ({missing} is not installed)"
    except TooFewDialogues as exc:
        skipped["realism"] = str(exc)
    if comparison.realism is not None and comparison.realism.auc_mean < 0.5:
        warnings.append(
            f"realism AUC {comparison.realism.auc_mean} is under 0.5: the classifier does worse"
            " than chance, which means it cannot tell the sets apart (or they share dialogues),"
            " not that this set is more real than the reference"
        )
    comparison.warnings = warnings or None
    return comparison


@contextmanager
def _staging(out: Path) -> Iterator[Path]:
    """A hidden folder beside the report whose files are moved into `out` at the end, so a
    failed eval leaves no half-written report and a rerun leaves no stale plot."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".eval-", dir=out))
    except OSError as exc:
        raise RunDirError(
            f"cannot write to {out} ({exc.strerror}): pass a writable --out"
        ) from None
    try:
        yield staging
        for name in PLOTS:
            (out / name).unlink(missing_ok=True)
        for file in staging.iterdir():
            file.replace(out / file.name)
    except OSError as exc:
        raise RunDirError(
            f"cannot write the report into {out} ({exc.strerror or exc}): pass a writable --out"
        ) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
