"""`factory eval`: measure a set of dialogues (a dialogues .jsonl, a run directory or a dataset
version), optionally beside a reference set, and write report.json, report.md and PNG plots."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from factory.counting import jensen_shannon
from factory.errors import DataFileError, MissingExtra, RunDirError, TooFewDialogues
from factory.evaluation.markdown import render_markdown
from factory.evaluation.measures import Measurement, measure
from factory.evaluation.plots import PLOTS, plot_all
from factory.evaluation.report import Comparison, EvalReport, MeasuredSet, Subject
from factory.models import Dialogue
from factory.text import content_hash


@dataclass
class Loaded:
    """A set of dialogues as read, with what it was and how many lines were not dialogues."""

    path: Path
    kind: str
    dialogues: list[Dialogue]
    malformed: int


def load_dialogues(
    path: Path, what: str = "input", warn: Callable[[str], None] = lambda message: None
) -> Loaded:
    """Dialogues from a .jsonl, a run directory or a dataset version folder; the first few
    malformed lines are named through `warn`, then their count."""
    from factory.filters.pipeline import MalformedWarnings, read_dialogues

    if path.is_dir() and (path / "manifest.json").is_file() and (path / "data").is_dir():
        from factory.dataset.table import SPLITS, read_split, split_path

        dialogues = []
        for split in SPLITS:
            file = split_path(path, split)
            if file is not None:
                dialogues += read_split(file)
        kind = "dataset version"
        malformed = 0
    else:
        file = path / "dialogues.jsonl" if path.is_dir() else path
        if not file.is_file():
            raise DataFileError(
                f"{what} {path} not found: pass a dialogues .jsonl, a run directory or a dataset version"
            )
        dialogues, warnings = [], MalformedWarnings(warn)
        for number, dialogue, problem in read_dialogues(file):
            if dialogue is None:
                warnings.add(file, number, problem.rpartition("\t")[2])
            else:
                dialogues.append(dialogue)
        warnings.close()
        malformed = warnings.count
        kind = "run directory" if path.is_dir() else "dialogues file"
        if not dialogues and malformed:
            raise DataFileError(
                f"{what} {path}: none of its {malformed} lines is a dialogue in the factory's"
                " format (raw ESConv? convert it with `factory import esconv`)"
            )
    if not dialogues:
        raise DataFileError(f"{what} {path} holds no dialogues: nothing to measure")
    return Loaded(path, kind, dialogues, malformed)


def evaluate(
    path: Path,
    out: Path,
    reference: Path | None = None,
    realism: bool = True,
    sample_size: int = 100,
    seed: int = 0,
    warn: Callable[[str], None] = lambda message: None,
) -> EvalReport:
    """Measure the set at `path` (and the reference), compare them, and write report.json,
    report.md and the plots into `out`, all or nothing."""
    started = time.perf_counter()
    subject = load_dialogues(path, warn=warn)
    ref = load_dialogues(reference, "reference", warn=warn) if reference else None
    mine = measure(subject.dialogues, sample_size=sample_size, seed=seed)
    theirs = measure(ref.dialogues, sample_size=sample_size, seed=seed) if ref else None
    skipped = dict(mine.skipped)
    comparison = Comparison()
    if theirs is not None and ref is not None:
        comparison = _compare(subject, mine, ref, theirs, realism, seed, skipped)
        skipped.update({f"reference: {k}": why for k, why in theirs.skipped.items()})
    else:
        skipped["comparison"] = "no --reference given"
    report = EvalReport(
        input=Subject(path=str(path), kind=subject.kind, malformed_lines=subject.malformed),
        reference=MeasuredSet(path=str(reference), kind=ref.kind) if ref else None,
        measures=mine.measures,
        reference_measures=theirs.measures if theirs else None,
        comparison=comparison,
        skipped=skipped,
        plots=[],
        seconds=0.0,
    )
    with _staging(out) as staging:
        report.plots = plot_all(staging, subject.dialogues, ref.dialogues if ref else None, report)
        report.seconds = round(time.perf_counter() - started, 2)
        (staging / "report.json").write_text(report.to_json(), encoding="utf-8")
        (staging / "report.md").write_text(render_markdown(report), encoding="utf-8")
    return report


def _compare(
    subject: Loaded,
    mine: Measurement,
    ref: Loaded,
    theirs: Measurement,
    realism: bool,
    seed: int,
    skipped: dict[str, str],
) -> Comparison:
    comparison = Comparison()
    theirs_hashes = {content_hash(d) for d in ref.dialogues}
    comparison.shared_with_reference = sum(
        content_hash(d) in theirs_hashes for d in subject.dialogues
    )
    warnings = []
    if comparison.shared_with_reference:
        warnings.append(
            f"{comparison.shared_with_reference} of the {len(subject.dialogues)} dialogues are"
            " also in the reference: every comparison below is partly the set against itself"
        )
    if mine.measures.strategy is not None and theirs.measures.strategy is not None:
        comparison.strategy_jsd = jensen_shannon(mine.measures.strategy, theirs.measures.strategy)
    else:
        skipped["strategy_jsd"] = "strategies are missing on one side"
    if not realism:
        skipped["realism"] = "switched off (--no-realism)"
        comparison.warnings = warnings or None
        return comparison
    try:
        from factory.evaluation.realism import realism_auc

        comparison.realism = realism_auc(subject.dialogues, ref.dialogues, seed=seed)
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
