"""PNG plots for `factory eval`: strategy shares against the reference, utterance lengths,
intensity by seeker turn, and the emotion x problem coverage grid."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from factory.evaluation.measures import messages
from factory.models import Dialogue

SUBJECT, REFERENCE = "#3b6ea5", "#c4843b"
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
    values: dict[str, Any],
    reference: list[Dialogue] | None,
    reference_values: dict[str, Any] | None,
) -> list[str]:
    """Writes the plots that have data; returns their file names."""
    plt = _pyplot()
    written = []
    ref = reference_values or {}

    if "strategy" in values:
        names = list(values["strategy"])
        names += [n for n in ref.get("strategy", {}) if n not in names]
        fig, ax = plt.subplots(figsize=(8, 0.35 * len(names) + 1.5))
        positions = range(len(names))
        ax.barh(
            [p + 0.2 for p in positions],
            [values["strategy"].get(n, 0) for n in names],
            0.4,
            color=SUBJECT,
            label="this set",
        )
        if "strategy" in ref:
            ax.barh(
                [p - 0.2 for p in positions],
                [ref["strategy"].get(n, 0) for n in names],
                0.4,
                color=REFERENCE,
                label="reference",
            )
        ax.set_yticks(list(positions), names)
        ax.invert_yaxis()
        ax.set_xlabel("share of supporter utterances")
        ax.legend()
        ax.set_title("Strategy distribution")
        fig.tight_layout()
        fig.savefig(out / "strategy.png", dpi=90)
        plt.close(fig)
        written.append("strategy.png")

    series = {
        (role, label): [
            min(len(m.text.split()), LONGEST) for d in data for m in messages(d) if m.role == role
        ]
        for role in ("seeker", "supporter")
        for data, label in ((dialogues, "this set"), (reference or [], "reference"))
    }
    if any(series.values()):
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
        for ax, role in zip(axes, ("seeker", "supporter"), strict=True):
            for label, color in (("this set", SUBJECT), ("reference", REFERENCE)):
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
            if any(series[(role, label)] for label in ("this set", "reference")):
                ax.legend()
        fig.tight_layout()
        fig.savefig(out / "lengths.png", dpi=90)
        plt.close(fig)
        written.append("lengths.png")

    curves = {
        label: (measured.get("intensity") or {}).get("by_seeker_turn") or {}
        for measured, label in ((values, "this set"), (ref, "reference"))
    }
    if any(curves.values()):
        fig, ax = plt.subplots(figsize=(6, 3.5))
        for label, color in (("this set", SUBJECT), ("reference", REFERENCE)):
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
        fig.tight_layout()
        fig.savefig(out / "intensity.png", dpi=90)
        plt.close(fig)
        written.append("intensity.png")

    grid = Counter((d.scenario.emotion_type, d.scenario.problem_type) for d in dialogues)
    # The reference's labels too, so combinations this set never made show as gaps.
    seen = [*grid, *((d.scenario.emotion_type, d.scenario.problem_type) for d in reference or [])]
    emotions = sorted({e for e, _ in seen})
    problems = sorted({p for _, p in seen})
    fig, ax = plt.subplots(figsize=(0.45 * len(problems) + 3, 0.35 * len(emotions) + 2))
    matrix = [[grid.get((e, p), 0) for p in problems] for e in emotions]
    image = ax.imshow(matrix, cmap="Blues", aspect="auto")
    ax.set_xticks(range(len(problems)), problems, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(emotions)), emotions, fontsize=8)
    fig.colorbar(image, ax=ax, label="dialogues")
    ax.set_title("Emotion x problem coverage")
    fig.tight_layout()
    fig.savefig(out / "coverage.png", dpi=90)
    plt.close(fig)
    written.append("coverage.png")
    return written
