"""report.md: the eval report as tables for a person, beside report.json."""

from __future__ import annotations

from typing import Any

from factory.evaluation.measures import Measures, Spread
from factory.evaluation.report import EvalReport

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
# Rows shown only when one side has the measure; the others show "-" when it is empty.
_OPTIONAL = frozenset({"distinct_1_sample", "distinct_2_sample", "strategy_labelled_share"})


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, Spread):
        return f"{value.mean} ± {value.std}"
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
    """Rows of this set beside the reference, when there is one."""

    def __init__(self, first_column: str, has_reference: bool) -> None:
        self.has_reference = has_reference
        self.lines = [
            f"| {first_column} | this set |" + (" reference |" if has_reference else ""),
            "|---|---|" + ("---|" if has_reference else ""),
        ]

    def row(self, label: str, mine: str, theirs: str) -> None:
        self.lines.append(f"| {label} | {mine} |" + (f" {theirs} |" if self.has_reference else ""))


def render_markdown(report: EvalReport) -> str:
    """The whole report.md."""
    has_ref = report.reference is not None
    lines = [
        f"# Evaluation of {report.input.path}",
        "",
        f"A {report.input.kind}"
        + (f", compared with {report.reference.path}." if report.reference else ", no reference."),
        "",
        *_measures_table(report.measures, report.reference_measures, has_ref),
        *_comparison(report),
        *_strategies(report.measures, report.reference_measures, has_ref),
        "",
        "## End reasons",
        "",
    ]
    lines += [f"- {k}: {100 * v:.1f}%" for k, v in report.measures.end_reason.items()]
    if report.skipped:
        lines += ["", "## Skipped", ""]
        lines += [f"- {k}: {why}" for k, why in sorted(report.skipped.items())]
    if report.plots:
        lines += ["", "## Plots", ""]
        lines += [f"![{p[:-4]}]({p})" for p in report.plots]
    return "\n".join(lines) + "\n"


def _measures_table(mine: Measures, ref: Measures | None, has_ref: bool) -> list[str]:
    table = _Table("measure", has_ref)
    sampled = mine.sampled or (ref.sampled if ref else None)
    for key, label in SCALARS:
        ours, theirs = _scalar(mine, key), _scalar(ref, key)
        if key in _OPTIONAL and ours is None and theirs is None:
            continue
        label = label.format(n=sampled.size) if sampled else label
        table.row(label, _fmt(ours), _fmt(theirs))
    blocks: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
        (
            "intensity",
            mine.intensity.model_dump() if mine.intensity else {},
            ref.intensity.model_dump() if ref and ref.intensity else {},
        ),
        ("judge", mine.judge or {}, (ref.judge if ref else None) or {}),
    ]
    for block, ours_block, theirs_block in blocks:
        for key in sorted(set(ours_block) | set(theirs_block)):
            if key != "by_seeker_turn":
                table.row(f"{block}: {key}", _fmt(ours_block.get(key)), _fmt(theirs_block.get(key)))
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
            f"- Strategy distribution, Jensen-Shannon divergence: {comparison.strategy_jsd} bits (0 = same)."
        )
    if (r := comparison.realism) is not None:
        lines.append(
            f"- Real-vs-synthetic classifier (MiniLM + logistic regression, {r.folds}-fold, {r.per_side} per side):"
            f" AUC {r.auc_mean} ± {r.auc_std} (0.5 = indistinguishable)."
        )
    return lines


def _strategies(mine: Measures, ref: Measures | None, has_ref: bool) -> list[str]:
    if mine.strategy is None:
        return []
    theirs = (ref.strategy if ref else None) or {}
    names = list(mine.strategy) + [n for n in theirs if n not in mine.strategy]
    table = _Table("strategy", has_ref)
    for name in names:
        table.row(
            name, f"{100 * mine.strategy.get(name, 0):.1f}%", f"{100 * theirs.get(name, 0):.1f}%"
        )
    return ["", "## Strategies (share of supporter utterances)", "", *table.lines]
