"""PNG plots for `factory eval`: strategy shares against the reference, utterance lengths,
intensity by seeker turn, and the emotion x problem coverage grid."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from factory.evaluation.measures import messages
from factory.models import Dialogue

SUBJECT, REFERENCE = "#3b6ea5", "#c4843b"


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

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    for ax, role in zip(axes, ("seeker", "supporter"), strict=True):
        for data, color, label in (
            (dialogues, SUBJECT, "this set"),
            (reference or [], REFERENCE, "reference"),
        ):
            lengths = [len(m.text.split()) for d in data for m in messages(d) if m.role == role]
            if lengths:
                ax.hist(
                    lengths,
                    bins=range(0, 81, 4),
                    density=True,
                    alpha=0.55,
                    color=color,
                    label=label,
                )
        ax.set_title(f"Tokens per {role} utterance")
        ax.set_xlabel("whitespace tokens (80+ not shown)")
        ax.legend()
    fig.tight_layout()
    fig.savefig(out / "lengths.png", dpi=90)
    plt.close(fig)
    written.append("lengths.png")

    if "intensity" in values:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        for measured, color, label in (
            (values, SUBJECT, "this set"),
            (ref, REFERENCE, "reference"),
        ):
            curve = (measured.get("intensity") or {}).get("by_seeker_turn") or {}
            if curve:
                ax.plot(
                    [int(k) + 1 for k in curve],
                    list(curve.values()),
                    marker="o",
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
    emotions = sorted({e for e, _ in grid})
    problems = sorted({p for _, p in grid})
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
