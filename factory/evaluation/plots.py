"""PNG plots for `factory eval`: strategy shares against the reference, utterance lengths,
intensity by seeker turn, and the emotion x problem coverage grid."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from factory.evaluation.measures import Measures, utterances
from factory.evaluation.report import EvalReport
from factory.models import Dialogue

SUBJECT, REFERENCE = "#3b6ea5", "#c4843b"
SIDES = (("this set", SUBJECT), ("reference", REFERENCE))
PLOTS = ("strategy.png", "lengths.png", "intensity.png", "coverage.png")
LONGEST = 80  # longer utterances are counted in the last bin


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_all(
    out: Path,
    dialogues: list[Dialogue],
    reference: list[Dialogue] | None,
    report: EvalReport,
) -> list[str]:
    """Writes the plots that have data; returns their file names."""
    plt = _pyplot()
    mine, theirs, others = report.measures, report.reference_measures, reference or []
    figures: list[tuple[str, Callable[[], Any]]] = [
        ("strategy.png", lambda: _strategy(plt, mine, theirs)),
        ("lengths.png", lambda: _lengths(plt, dialogues, others)),
        ("intensity.png", lambda: _intensity(plt, mine, theirs)),
        ("coverage.png", lambda: _coverage(plt, dialogues, others)),
    ]
    written = []
    for name, draw in figures:
        fig = draw()
        if fig is None:
            continue
        fig.tight_layout()
        fig.savefig(out / name, dpi=90)
        plt.close(fig)
        written.append(name)
    return written


def _strategy(plt: Any, mine: Measures, ref: Measures | None) -> Any:
    if mine.strategy is None:
        return None
    theirs = ref.strategy if ref else None
    names = list(mine.strategy)
    names += [n for n in theirs or {} if n not in names]
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(names) + 1.5))
    positions = range(len(names))
    for offset, shares, (label, color) in (
        (0.2, mine.strategy, SIDES[0]),
        (-0.2, theirs, SIDES[1]),
    ):
        if shares is not None:
            bars = [shares.get(n, 0) for n in names]
            ax.barh([p + offset for p in positions], bars, 0.4, color=color, label=label)
    ax.set_yticks(list(positions), names)
    ax.invert_yaxis()
    ax.set_xlabel("share of supporter utterances")
    ax.legend()
    ax.set_title("Strategy distribution")
    return fig


def _lengths(plt: Any, dialogues: list[Dialogue], reference: list[Dialogue]) -> Any:
    series = {
        (role, label): [
            min(len(u.text.split()), LONGEST) for d in data for u in utterances(d) if u.role == role
        ]
        for role in ("seeker", "supporter")
        for data, label in ((dialogues, "this set"), (reference, "reference"))
    }
    if not any(series.values()):
        return None
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    for ax, role in zip(axes, ("seeker", "supporter"), strict=True):
        for label, color in SIDES:
            lengths = series[(role, label)]
            if lengths:
                ax.hist(
                    lengths,
                    bins=range(0, LONGEST + 5, 4),
                    density=True,
                    alpha=0.55,
                    color=color,
                    label=label,
                )
        ax.set_title(f"Tokens per {role} utterance")
        ax.set_xlabel(f"whitespace tokens (the last bin holds {LONGEST}+)")
        if any(series[(role, label)] for label, _ in SIDES):
            ax.legend()
    return fig


def _intensity(plt: Any, mine: Measures, ref: Measures | None) -> Any:
    curves = {
        label: (measured.intensity.by_seeker_turn if measured and measured.intensity else {})
        for measured, label in ((mine, "this set"), (ref, "reference"))
    }
    if not any(curves.values()):
        return None
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for label, color in SIDES:
        curve = curves[label]
        if curve:
            turns = [int(k) + 1 for k in curve]
            # A line only where ratings come turn after turn; ESConv rates only the first
            # and the last turn, and a line between them would invent a trajectory.
            dense = turns == list(range(turns[0], turns[0] + len(turns)))
            ax.plot(
                turns,
                list(curve.values()),
                marker="o",
                linestyle="-" if dense else "none",
                color=color,
                label=label,
            )
    ax.set_xlabel("seeker turn")
    ax.set_ylabel("mean self-rated intensity (1-5)")
    ax.set_ylim(1, 5)
    ax.set_title("Intensity trajectory")
    ax.legend()
    return fig


def _coverage(plt: Any, dialogues: list[Dialogue], reference: list[Dialogue]) -> Any:
    grid = Counter((d.scenario.emotion_type, d.scenario.problem_type) for d in dialogues)
    # The reference's labels too, so combinations this set never made show as gaps.
    seen = [*grid, *((d.scenario.emotion_type, d.scenario.problem_type) for d in reference)]
    emotions = sorted({e for e, _ in seen})
    problems = sorted({p for _, p in seen})
    fig, ax = plt.subplots(figsize=(0.45 * len(problems) + 3, 0.35 * len(emotions) + 2))
    matrix = [[grid.get((e, p), 0) for p in problems] for e in emotions]
    image = ax.imshow(matrix, cmap="Blues", aspect="auto")
    ax.set_xticks(range(len(problems)), problems, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(emotions)), emotions, fontsize=8)
    fig.colorbar(image, ax=ax, label="dialogues")
    ax.set_title("Emotion x problem coverage")
    return fig
