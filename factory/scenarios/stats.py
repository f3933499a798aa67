"""Coverage of a scenario bank: the problem x emotion grid against the cells the persona data
allows, the marginal distribution of every persona attribute, and how much the situations
repeat (exact copies, and skeletons with times, people and jobs blanked)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from factory.errors import DataFileError
from factory.models import Scenario
from factory.scenarios.bank import read_scenarios
from factory.scenarios.cues import SituationReader
from factory.scenarios.persona_bank import BIG_FIVE, PersonaBank, Work
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
    situations: Counter[str] = field(default_factory=Counter)
    skeletons: Counter[str] = field(default_factory=Counter)

    @property
    def copies(self) -> float:
        """The share of scenarios whose situation repeats an earlier one word for word."""
        return (self.scenarios - len(self.situations)) / self.scenarios if self.scenarios else 0.0

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


class SkeletonBlanker:
    """A situation with its time phrases, people and job words blanked ("My <P> died <T>"),
    so situations that differ only in those count as one skeleton."""

    def __init__(self, bank: PersonaBank) -> None:
        reader = SituationReader(bank.cues, bank.household)
        people = [*reader.relative_words(), *(f.words for f in bank.household.friends)]
        people += [
            *bank.household.pets,
            *(v for vs in bank.situations.fillers.values() for v in vs),
        ]
        jobs = [o.name for o in bank.attributes.occupations] + bank.job_titles.words()
        jobs += [w for o in bank.attributes.occupations for w in o.slot_words().values()]
        jobs += list(Work().model_dump().values())
        self._blanks = [
            (_any_of(reader.time_words()), "<T>"),
            (_any_of(jobs, article=True), "<J>"),
            (_any_of(people, qualifier=True), "<P>"),
        ]

    def __call__(self, text: str) -> str:
        for pattern, blank in self._blanks:
            text = pattern.sub(blank, text)
        return text


def _any_of(words: list[str], article: bool = False, qualifier: bool = False) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))
    prefix = r"(?:an? )?" if article else ""
    prefix += r"(?:\d+-year-old |baby |teenage |grown-up )?" if qualifier else ""
    return re.compile(rf"(?<!\w){prefix}(?:{alternatives})(?!\w)", re.I)


def bank_stats(
    scenarios: list[Scenario], allowed: list[Cell], blank: SkeletonBlanker | None = None
) -> BankStats:
    stats = BankStats(
        len(scenarios), Counter((s.problem_type, s.emotion_type) for s in scenarios), allowed
    )
    stats.situations = Counter(s.situation for s in scenarios)
    if blank is not None:
        stats.skeletons = Counter(blank(s.situation) for s in scenarios)
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
        f"distinct situations: {len(stats.situations)} ({100 * stats.copies:.1f}% of scenarios"
        " repeat an earlier situation word for word)",
    ]
    if stats.skeletons:
        lines.append(f"distinct skeletons (times, people, jobs blanked): {len(stats.skeletons)}")
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
