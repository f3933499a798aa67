"""report.md: the eval report as tables for a person, beside report.json. Every measure has a
plain label with its unit, shares read as percentages, and a column says which way is
better (higher, lower, or nearer the reference)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from factory.evaluation.measures import Measures, Spread
from factory.evaluation.plots import set_labels
from factory.evaluation.report import EvalReport

HIGHER, LOWER, NEARER, CONTEXT = "higher", "lower", "nearer the reference", ""


@dataclass(frozen=True)
class Row:
    """One measure as report.md shows it: where it is in Measures, its label, whether it is
    a share (shown as a percentage), and which way is better."""

    key: str
    label: str
    better: str
    share: bool = False


ROWS = (
    Row("dialogues", "dialogues", CONTEXT),
    Row("utterances_per_dialogue", "utterances (messages) per dialogue", NEARER),
    Row(
        "turns_per_dialogue", "turns per dialogue (a speaker's messages in a row: one turn)", NEARER
    ),
    Row("tokens_per_seeker_utterance", "words per seeker utterance", NEARER),
    Row("tokens_per_supporter_utterance", "words per supporter utterance", NEARER),
    Row("distinct_1", "distinct-1, whole set (falls as a set grows)", CONTEXT),
    Row("distinct_2", "distinct-2, whole set (falls as a set grows)", CONTEXT),
    Row("distinct_1_sample", "distinct-1, samples of {n} dialogues", HIGHER),
    Row("distinct_2_sample", "distinct-2, samples of {n} dialogues", HIGHER),
    Row(
        "duplicate_supporter_utterance_share",
        "supporter utterances repeating an earlier one",
        LOWER,
        share=True,
    ),
    Row("strategy_labelled_share", "supporter utterances with a strategy", HIGHER, share=True),
    Row("emotion_problem_cells", "emotion x problem combinations covered", HIGHER),
)
# Rows shown only when one side has the measure; the others show "-" when it is empty.
_OPTIONAL = frozenset({"distinct_1_sample", "distinct_2_sample", "strategy_labelled_share"})
# The seeker's self-rated intensity, first to last.
INTENSITY_ROWS = (
    Row("dialogues_rated", "intensity: dialogues rated at least twice", CONTEXT),
    Row("initial", "intensity: first rating (1 calm - 5 overwhelmed)", CONTEXT),
    Row("final", "intensity: last rating (1-5)", LOWER),
    Row("mean_drop", "intensity: mean drop, first minus last (points)", HIGHER),
    Row(
        "improved_share", "intensity: dialogues ending below their first rating", HIGHER, share=True
    ),
)
END_REASONS = {
    "completed": "completed: reached its planned length",
    "seeker_closed": "seeker_closed: the seeker ended it near its planned length",
    "stalled": "stalled: a speaker repeated an earlier turn",
    "error:parse": "error:parse: a model's output stayed unusable",
    "error:rejected": "error:rejected: the server refused a request",
}


def _fmt(value: Any, share: bool = False) -> str:
    if value is None:
        return "-"
    if share:
        return f"{100 * value:.1f}%"
    if isinstance(value, Spread):
        return f"{value.mean:g} ± {value.std:g}"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _scalar(measures: Measures | None, key: str) -> Any:
    if measures is None:
        return None
    if key.endswith("_sample"):
        sampled = measures.sampled
        return getattr(sampled, key.removesuffix("_sample")) if sampled else None
    return getattr(measures, key)


class _Table:
    """Rows of the evaluated set beside the reference, when there is one, and which way is
    better."""

    def __init__(self, first_column: str, has_reference: bool, better: bool = True) -> None:
        self.has_reference, self.better = has_reference, better
        columns = [first_column, "evaluated", *(["reference"] if has_reference else [])]
        columns += ["better"] if better else []
        self.lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]

    def row(self, label: str, mine: str, theirs: str, better: str = "") -> None:
        cells = [label, mine, *([theirs] if self.has_reference else [])]
        cells += [better] if self.better else []
        self.lines.append("| " + " | ".join(cells) + " |")


def render_markdown(report: EvalReport) -> str:
    """The whole report.md."""
    has_ref = report.reference is not None
    mine, theirs = set_labels(report)
    ref_measures = report.reference_measures
    compared = (
        f"compared with the reference, {report.reference.path}"
        f" ({ref_measures.dialogues if ref_measures else 0} dialogues)."
        if report.reference
        else "no reference."
    )
    malformed = report.input.malformed_lines
    if malformed:
        compared += (
            f" {malformed} malformed {'line was' if malformed == 1 else 'lines were'} left out."
        )
    lines = [
        f"# Evaluation of {report.input.path}",
        "",
        f"A {report.input.kind} of {report.measures.dialogues} dialogues, {compared}"
        " Words are whitespace tokens; an utterance is one message. *Better* says which way a"
        " measure should move; *nearer the reference* means the reference is the target.",
        "",
        *_measures_table(report.measures, ref_measures, has_ref),
        *_comparison(report),
        *_strategies(report.measures, ref_measures, has_ref),
        "",
        "## End reasons (share of dialogues)",
        "",
    ]
    lines += [
        f"- {END_REASONS.get(k, k)}: {100 * v:.1f}%" for k, v in report.measures.end_reason.items()
    ]
    if report.skipped:
        lines += ["", "## Skipped", ""]
        lines += [f"- {k}: {why}" for k, why in sorted(report.skipped.items())]
    if report.plots:
        legend = f"{mine} in blue" + (f", {theirs} in orange" if has_ref else "")
        lines += ["", "## Plots", "", f"{legend}.", ""]
        lines += [f"![{p[:-4]}]({p})" for p in report.plots]
    return "\n".join(lines) + "\n"


def _measures_table(mine: Measures, ref: Measures | None, has_ref: bool) -> list[str]:
    table = _Table("measure", has_ref)
    sampled = mine.sampled or (ref.sampled if ref else None)
    for row in ROWS:
        ours, theirs = _scalar(mine, row.key), _scalar(ref, row.key)
        if row.key in _OPTIONAL and ours is None and theirs is None:
            continue
        label = row.label.format(n=sampled.size) if sampled else row.label
        table.row(label, _fmt(ours, row.share), _fmt(theirs, row.share), row.better)
    ours_i, theirs_i = mine.intensity, ref.intensity if ref else None
    if ours_i or theirs_i:
        for row in INTENSITY_ROWS:
            ours, theirs = (
                _fmt(getattr(m, row.key), row.share) if m else "-" for m in (ours_i, theirs_i)
            )
            table.row(row.label, ours, theirs, row.better)
    ours_j, theirs_j = mine.judge or {}, (ref.judge if ref else None) or {}
    for key in sorted(set(ours_j) | set(theirs_j)):
        label = f"judge: {key.replace('_', ' ')} (1-5)"
        table.row(label, _fmt(ours_j.get(key)), _fmt(theirs_j.get(key)), HIGHER)
    return table.lines


def _comparison(report: EvalReport) -> list[str]:
    comparison = report.comparison
    if comparison.strategy_jsd is None and comparison.realism is None:
        return []
    lines = ["", "## Against the reference", ""]
    for warning in comparison.warnings or []:
        lines.append(f"- **Warning: {warning}.**")
    if comparison.strategy_jsd is not None:
        lines.append(
            "- Strategy mix, Jensen-Shannon divergence from the reference:"
            f" {comparison.strategy_jsd} bits (0 = the same mix, 1 = nothing shared; lower is"
            " better)."
        )
    if (r := comparison.realism) is not None:
        lines.append(
            f"- Real-vs-synthetic classifier (MiniLM + logistic regression, {r.folds}-fold,"
            f" {r.per_side} dialogues a side): AUC {r.auc_mean} ± {r.auc_std} (0.5 = it cannot"
            " tell the sets apart, the goal; 1 = it always can)."
        )
    return lines


def _strategies(mine: Measures, ref: Measures | None, has_ref: bool) -> list[str]:
    if mine.strategy is None:
        return []
    theirs = (ref.strategy if ref else None) or {}
    names = list(mine.strategy) + [n for n in theirs if n not in mine.strategy]
    table = _Table("strategy", has_ref, better=False)
    for name in names:
        table.row(name, _fmt(mine.strategy.get(name, 0), True), _fmt(theirs.get(name, 0), True))
    return ["", "## Strategies (share of supporter utterances)", "", *table.lines]
