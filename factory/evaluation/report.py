"""`factory eval`: measure a set of dialogues (a dialogues .jsonl, a run directory or a dataset
version), optionally beside a reference set, and write report.json, report.md and PNG plots."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from factory.errors import DataFileError, MissingExtra, RunDirError
from factory.evaluation.measures import Measures, jensen_shannon, measure
from factory.models import Dialogue


@dataclass
class Loaded:
    path: Path
    kind: str
    dialogues: list[Dialogue]
    malformed: int


def load_dialogues(path: Path, what: str = "input") -> Loaded:
    """Dialogues from a .jsonl, a run directory or a dataset version folder."""
    from factory.filters.pipeline import read_dialogues

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
        dialogues, malformed = [], 0
        for _, dialogue, _ in read_dialogues(file):
            if dialogue is None:
                malformed += 1
            else:
                dialogues.append(dialogue)
        kind = "run directory" if path.is_dir() else "dialogues file"
        if not dialogues and malformed:
            raise DataFileError(
                f"{what} {path}: none of its {malformed} lines is a dialogue in the factory's"
                " format (raw ESConv? convert it with `factory import esconv`)"
            )
    if not dialogues:
        raise DataFileError(f"{what} {path} holds no dialogues: nothing to measure")
    return Loaded(path, kind, dialogues, malformed)


@dataclass
class EvalReport:
    data: dict[str, Any]
    markdown: str
    plots: list[str]


def evaluate(
    path: Path,
    out: Path,
    reference: Path | None = None,
    realism: bool = True,
    sample_size: int = 100,
    seed: int = 0,
    warn: Callable[[str], None] = lambda message: None,
) -> EvalReport:
    started = time.perf_counter()
    subject = load_dialogues(path)
    ref = load_dialogues(reference, "reference") if reference else None
    for loaded in filter(None, (subject, ref)):
        if loaded.malformed:
            warn(f"{loaded.path}: {loaded.malformed} malformed lines skipped")
    mine = measure(subject.dialogues, sample_size=sample_size, seed=seed)
    theirs = measure(ref.dialogues, sample_size=sample_size, seed=seed) if ref else None
    comparison: dict[str, Any] = {}
    skipped = dict(mine.skipped)
    if theirs is not None and ref is not None:
        if "strategy" in mine.values and "strategy" in theirs.values:
            comparison["strategy_jsd"] = jensen_shannon(
                mine.values["strategy"], theirs.values["strategy"]
            )
        else:
            skipped["strategy_jsd"] = "strategies are missing on one side"
        if realism:
            try:
                from factory.evaluation.realism import realism_auc

                comparison["realism"] = realism_auc(subject.dialogues, ref.dialogues, seed=seed)
            except (ImportError, MissingExtra) as exc:
                missing = getattr(exc, "name", None) or str(exc).split(" is not installed")[0]
                skipped["realism"] = f"needs the `embed` extra ({missing} is not installed)"
            except ValueError as exc:
                skipped["realism"] = str(exc)
        else:
            skipped["realism"] = "switched off (--no-realism)"
    else:
        skipped["comparison"] = "no --reference given"
    if theirs is not None:
        skipped.update({f"reference: {k}": why for k, why in theirs.skipped.items()})
    from factory.evaluation.plots import PLOTS, plot_all

    # Everything is written to a hidden folder beside the report and moved in at the end, so
    # a failed eval leaves no half-written report and a rerun leaves no stale plot.
    try:
        out.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".eval-", dir=out))
    except OSError as exc:
        raise RunDirError(
            f"cannot write to {out} ({exc.strerror}): pass a writable --out"
        ) from None
    try:
        plots = plot_all(
            staging,
            subject.dialogues,
            mine.values,
            ref.dialogues if ref else None,
            theirs.values if theirs else None,
        )
        data = {
            "input": {
                "path": str(path),
                "kind": subject.kind,
                "malformed_lines": subject.malformed,
            },
            "reference": {"path": str(reference), "kind": ref.kind} if ref else None,
            "measures": mine.values,
            "reference_measures": theirs.values if theirs else None,
            "comparison": comparison,
            "skipped": skipped,
            "plots": plots,
            "seconds": round(time.perf_counter() - started, 2),
        }
        markdown = render_markdown(data, mine, theirs, sample_size)
        (staging / "report.json").write_text(
            json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        (staging / "report.md").write_text(markdown, encoding="utf-8")
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
    return EvalReport(data, markdown, plots)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict) and "mean" in value:
        return f"{value['mean']} ± {value['std']}"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


SCALARS = (
    ("dialogues", "dialogues"),
    ("utterances_per_dialogue", "utterances per dialogue"),
    ("turns_per_dialogue", "turns per dialogue (merged speakers)"),
    ("tokens_per_seeker_utterance", "tokens per seeker utterance"),
    ("tokens_per_supporter_utterance", "tokens per supporter utterance"),
    ("distinct_1", "distinct-1 (corpus)"),
    ("distinct_2", "distinct-2 (corpus)"),
    ("distinct_1_sample", "distinct-1 (samples of {n} dialogues)"),
    ("distinct_2_sample", "distinct-2 (samples of {n} dialogues)"),
    ("duplicate_supporter_utterance_share", "supporter utterances repeating an earlier one"),
    ("strategy_labelled_share", "supporter utterances with a strategy"),
    ("emotion_problem_cells", "emotion x problem cells covered"),
)


def render_markdown(
    data: dict[str, Any], mine: Measures, theirs: Measures | None, sample_size: int = 100
) -> str:
    ref = theirs.values if theirs else {}
    has_ref = theirs is not None
    head = "| measure | this set |" + (" reference |" if has_ref else "")
    rule = "|---|---|" + ("---|" if has_ref else "")
    lines = [
        f"# Evaluation of {data['input']['path']}",
        "",
        f"A {data['input']['kind']}"
        + (f", compared with {data['reference']['path']}." if has_ref else ", no reference."),
        "",
        head,
        rule,
    ]
    for key, label in SCALARS:
        if key.endswith("_sample"):
            key, label = f"{key}{sample_size}", label.format(n=sample_size)
        if key in mine.values or key in ref:
            row = f"| {label} | {_fmt(mine.values.get(key))} |"
            lines.append(row + (f" {_fmt(ref.get(key))} |" if has_ref else ""))
    for block in ("intensity", "judge"):
        for key in sorted(set(mine.values.get(block) or {}) | set(ref.get(block) or {})):
            if key == "by_seeker_turn":
                continue
            mine_value = (mine.values.get(block) or {}).get(key)
            row = f"| {block}: {key} | {_fmt(mine_value)} |"
            lines.append(row + (f" {_fmt((ref.get(block) or {}).get(key))} |" if has_ref else ""))
    comparison = data["comparison"]
    if comparison:
        lines += ["", "## Against the reference", ""]
        if "strategy_jsd" in comparison:
            lines.append(
                f"- Strategy distribution, Jensen-Shannon divergence: {comparison['strategy_jsd']} bits (0 = same)."
            )
        if "realism" in comparison:
            r = comparison["realism"]
            lines.append(
                f"- Real-vs-synthetic classifier (MiniLM + logistic regression, {r['folds']}-fold, {r['per_side']} per side):"
                f" AUC {r['auc_mean']} ± {r['auc_std']} (0.5 = indistinguishable)."
            )
    if "strategy" in mine.values:
        names = list(mine.values["strategy"]) + [
            n for n in ref.get("strategy", {}) if n not in mine.values["strategy"]
        ]
        lines += [
            "",
            "## Strategies (share of supporter utterances)",
            "",
            head.replace("measure", "strategy"),
            rule,
        ]
        for name in names:
            row = f"| {name} | {100 * mine.values['strategy'].get(name, 0):.1f}% |"
            lines.append(
                row + (f" {100 * ref.get('strategy', {}).get(name, 0):.1f}% |" if has_ref else "")
            )
    lines += ["", "## End reasons", ""]
    lines += [f"- {k}: {100 * v:.1f}%" for k, v in mine.values["end_reason"].items()]
    if data["skipped"]:
        lines += ["", "## Skipped", ""]
        lines += [f"- {k}: {why}" for k, why in sorted(data["skipped"].items())]
    if data["plots"]:
        lines += ["", "## Plots", ""]
        lines += [f"![{p[:-4]}]({p})" for p in data["plots"]]
    return "\n".join(lines) + "\n"
