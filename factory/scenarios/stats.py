"""Coverage of a scenario bank: the problem x emotion grid against the cells the persona data
allows, and the marginal distribution of every persona attribute."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from factory.errors import DataFileError
from factory.models import Scenario
from factory.scenarios.bank import read_scenarios
from factory.scenarios.persona_bank import BIG_FIVE
from factory.scenarios.sampler import Cell

MARGINALS = (
    "age_band", "gender", "occupation", "life_stage", "living_situation",
    "cultural_background", "coping_style", "disclosure", "verbosity",
)  # fmt: skip


@dataclass
class BankStats:
    scenarios: int
    grid: Counter[Cell]
    allowed: list[Cell]
    marginals: dict[str, Counter[str]] = field(default_factory=dict)

    @property
    def covered(self) -> list[Cell]:
        return [cell for cell in self.allowed if self.grid[cell]]

    @property
    def missing(self) -> list[Cell]:
        return [cell for cell in self.allowed if not self.grid[cell]]

    @property
    def outside(self) -> list[Cell]:
        """Cells in the file that the persona data does not allow (e.g. another data folder)."""
        return sorted(set(self.grid) - set(self.allowed))


def read_bank(path: Path) -> list[Scenario]:
    scenarios = read_scenarios(path)
    if not scenarios:
        raise DataFileError(f"{path} holds no scenarios")
    return scenarios


def bank_stats(scenarios: list[Scenario], allowed: list[Cell]) -> BankStats:
    stats = BankStats(
        len(scenarios), Counter((s.problem_type, s.emotion_type) for s in scenarios), allowed
    )
    for name in MARGINALS:
        stats.marginals[name] = Counter(str(getattr(s.persona, name) or "-") for s in scenarios)
    for trait in BIG_FIVE:
        stats.marginals[f"big_five.{trait}"] = Counter(
            getattr(s.persona.big_five, trait) if s.persona.big_five else "-" for s in scenarios
        )
    stats.marginals["initial_intensity"] = Counter(str(s.initial_intensity) for s in scenarios)
    stats.marginals["situation_source"] = Counter(
        s.situation_source.kind if s.situation_source else "-" for s in scenarios
    )
    return stats


def render_stats(stats: BankStats) -> str:
    """A plain-text report: grid coverage first, then one line per attribute."""
    lines = [
        f"scenarios: {stats.scenarios}",
        f"problem x emotion cells covered: {len(stats.covered)} of {len(stats.allowed)} allowed",
    ]
    if stats.missing:
        lines.append("missing cells: " + "; ".join(f"{p} x {e}" for p, e in stats.missing))
    if stats.outside:
        lines.append(
            "cells outside the allowed grid: " + "; ".join(f"{p} x {e}" for p, e in stats.outside)
        )
    problems = sorted({p for p, _ in stats.allowed} | {p for p, _ in stats.grid})
    emotions = sorted({e for _, e in stats.allowed} | {e for _, e in stats.grid})
    allowed = set(stats.allowed)
    width = max(len(p) for p in problems)
    lines.append("")
    lines.append(" " * width + " " + " ".join(f"{e[:5]:>5}" for e in emotions))
    for problem in problems:
        cells = []
        for emotion in emotions:
            count = stats.grid[(problem, emotion)]
            cells.append(f"{count:>5}" if (problem, emotion) in allowed or count else f"{'.':>5}")
        lines.append(f"{problem:<{width}} " + " ".join(cells))
    lines.append("(. = not an allowed cell)")
    lines.append("")
    for name, counter in stats.marginals.items():
        total = sum(counter.values())
        parts = ", ".join(f"{value} {100 * n / total:.0f}%" for value, n in counter.most_common())
        lines.append(f"{name}: {parts}")
    return "\n".join(lines)
