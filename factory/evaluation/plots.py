"""PNG plots for `factory eval`, each on axes both sets share: strategy shares, utterance
lengths as shares of each set, intensity by position in the dialogue (0 to 1, so a set rated
at every turn and ESConv, rated at the first and the last, meet), and the emotion x problem
grid of both sets on one colour scale of shares."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from factory.evaluation.measures import Measures
from factory.evaluation.report import EvalReport
from factory.evaluation.tally import LONGEST, SetTally

SUBJECT, REFERENCE = "#3b6ea5", "#c4843b"
PLOTS = ("strategy.png", "lengths.png", "intensity.png", "coverage.png")
EMPTY_CELL = "#e6e6e6"  # a combination the set never has: grey, unlike any share


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def set_labels(report: EvalReport) -> tuple[str, str]:
    """How legends and titles name the two sets: their role and their file or folder."""
    mine = f"evaluated ({Path(report.input.path).name})"
    theirs = f"reference ({Path(report.reference.path).name})" if report.reference else ""
    return mine, theirs


def plot_all(
    out: Path,
    dialogues: SetTally,
    reference: SetTally | None,
    report: EvalReport,
) -> list[str]:
    """Writes the plots that have data; returns their file names."""
    plt = _pyplot()
    mine, theirs, others = report.measures, report.reference_measures, reference
    labels = set_labels(report)
    sides = ((labels[0], SUBJECT), (labels[1], REFERENCE))
    figures: list[tuple[str, Callable[[], Any]]] = [
        ("strategy.png", lambda: _strategy(plt, mine, theirs, sides)),
        ("lengths.png", lambda: _lengths(plt, dialogues, others, sides)),
        ("intensity.png", lambda: _intensity(plt, mine, theirs, sides)),
        ("coverage.png", lambda: _coverage(plt, dialogues, others, labels)),
    ]
    written = []
    for name, draw in figures:
        fig = draw()
        if fig is None:
            continue
        if fig.get_layout_engine() is None:
            fig.tight_layout()
        fig.savefig(out / name, dpi=90)
        plt.close(fig)
        written.append(name)
    return written


def _percent_axis(axis: Any) -> None:
    """Shares as percentages: 0.001 reads 0.1%, 0.25 reads 25%."""
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{100 * value:.3g}%"))


def _strategy(plt: Any, mine: Measures, ref: Measures | None, sides: Any) -> Any:
    if mine.strategy is None:
        return None
    theirs = ref.strategy if ref else None
    names = list(mine.strategy)
    names += [n for n in theirs or {} if n not in names]
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(names) + 1.5))
    positions = range(len(names))
    for offset, shares, (label, color) in (
        (-0.2, mine.strategy, sides[0]),
        (0.2, theirs, sides[1]),
    ):
        if shares is not None:
            bars = [shares.get(n, 0) for n in names]
            ax.barh([p + offset for p in positions], bars, 0.4, color=color, label=label)
    ax.set_yticks(list(positions), names)
    ax.invert_yaxis()
    _percent_axis(ax.xaxis)
    ax.set_xlabel("share of the set's supporter utterances")
    ax.legend()
    ax.set_title("Support strategies")
    return fig


def _lengths(plt: Any, dialogues: SetTally, reference: SetTally | None, sides: Any) -> Any:
    series = {
        (role, side): data.lengths[role] if data is not None else Counter()
        for role in ("seeker", "supporter")
        for side, data in enumerate((dialogues, reference))
    }
    if not any(series.values()):
        return None
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5), sharey=True)
    for ax, role in zip(axes, ("seeker", "supporter"), strict=True):
        for side, (label, color) in enumerate(sides):
            lengths = series[(role, side)]
            if lengths:
                # Each utterance weighs 1/n: the bars are shares of the set's utterances, so a
                # set of 12 dialogues and one of 1,300 are on one scale.
                total = sum(lengths.values())
                ax.hist(
                    list(lengths),
                    bins=range(0, LONGEST + 5, 4),
                    weights=[count / total for count in lengths.values()],
                    alpha=0.55,
                    color=color,
                    label=label,
                )
        ax.set_title(f"Length of {role} utterances")
        ax.set_xlabel(f"words (whitespace tokens; 4 a bar, the last holds {LONGEST}+)")
        if any(series[(role, side)] for side in (0, 1)):
            ax.legend()
    _percent_axis(axes[0].yaxis)
    axes[0].set_ylabel("share of the set's utterances")
    return fig


def _intensity(plt: Any, mine: Measures, ref: Measures | None, sides: Any) -> Any:
    curves = [
        measured.intensity.by_position if measured and measured.intensity else {}
        for measured in (mine, ref)
    ]
    if not any(curves):
        return None
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for curve, (label, color) in zip(curves, sides, strict=True):
        if curve:
            points = [float(k) for k in curve]
            # A line only where ratings come through the dialogue; ESConv rates only the
            # first and the last message, and a line between them would invent a trajectory.
            ax.plot(
                points,
                list(curve.values()),
                marker="o",
                linestyle="-" if len(points) > 2 else "none",
                color=color,
                label=label,
            )
    ax.set_xlabel("position in the dialogue (0: the seeker's first message, 1: its last)")
    ax.set_ylabel("mean self-rated intensity\n(1 calm - 5 overwhelmed)")
    ax.set_xlim(-0.05, 1.05)
    ax.set_ylim(1, 5)
    ax.set_title("Seeker's intensity through the dialogue (lower at the end is better)")
    ax.legend()
    return fig


def _coverage(
    plt: Any, dialogues: SetTally, reference: SetTally | None, labels: tuple[str, str]
) -> Any:
    import numpy as np
    from matplotlib.colors import LogNorm

    sets = [(dialogues, labels[0])] + ([(reference, labels[1])] if reference else [])
    grids = [s.grid for s, _ in sets]
    # Both sets' labels on both panels, so a combination one set lacks shows as a grey gap.
    emotions = sorted({e for g in grids for e, _ in g})
    problems = sorted({p for g in grids for _, p in g})
    shares = [
        np.ma.masked_equal(
            [[g.get((e, p), 0) / max(1, s.dialogues) for p in problems] for e in emotions], 0
        )
        for g, (s, _) in zip(grids, sets, strict=True)
    ]
    positive = [float(m.min()) for m in shares if m.count()]
    if not positive:
        return None
    # One log scale for both panels: shares from a fraction of a percent to the largest cell
    # stay apart, where a linear scale made 0 and 1 dialogue the same white.
    norm = LogNorm(vmin=min(positive), vmax=max(float(m.max()) for m in shares if m.count()))
    cmap = plt.get_cmap("viridis").with_extremes(bad=EMPTY_CELL)
    width = 0.42 * len(problems) + 1.5
    fig, axes = plt.subplots(
        1,
        len(sets),
        figsize=(width * len(sets) + 1.5, 0.33 * len(emotions) + 2.6),
        sharey=True,
        squeeze=False,
        layout="constrained",  # room for the shared colour bar
    )
    for ax, matrix, grid, (data, label) in zip(axes[0], shares, grids, sets, strict=True):
        image = ax.imshow(matrix, cmap=cmap, norm=norm, aspect="auto")
        for row, emotion in enumerate(emotions):
            for col, problem in enumerate(problems):
                if count := grid.get((emotion, problem), 0):
                    dark = norm(matrix[row, col]) < 0.6
                    ax.text(col, row, count, ha="center", va="center", fontsize=6,
                            color="white" if dark else "black")  # fmt: skip
        ax.set_xticks(range(len(problems)), problems, rotation=60, ha="right", fontsize=8)
        ax.set_yticks(range(len(emotions)), emotions, fontsize=8)
        ax.set_title(f"{label}: {data.dialogues} dialogues, {len(grid)} cells", fontsize=9)
    fig.colorbar(image, ax=list(axes[0]), label="share of the set's dialogues (numbers: count)")
    _percent_axis(fig.axes[-1].yaxis)
    fig.suptitle("Emotion x problem coverage (grey: none)")
    return fig
