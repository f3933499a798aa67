"""Population-grounded marginals (personas/population.yaml): age-band, gender and
living-situation shares from stated public statistics, the default the sampler draws
from. The problem x emotion grid comes first and some cells rule ages out, so the age-band
weights are fitted per cell (iterative proportional fitting) until the whole bank's shares
match the reference; draws are stratified by scenario index so 1,000 scenarios land
within a point or two of it rather than wherever chance puts them."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import Field

from factory.scenarios.rules import Strict

Shares = dict[str, float]
_FIT_ROUNDS = 500
# Two irrational steps: scenario i's quantiles are frac(start + i * step), a low-discrepancy
# sequence, so any run of scenarios (or those of one cell) covers (0, 1) evenly.
_STEPS = ((math.sqrt(5) - 1) / 2, math.sqrt(2) - 1)


class Population(Strict):
    sources: str = Field(min_length=1)
    age_bands: Shares
    genders: Shares
    living_situations: dict[str, Shares]


@dataclass(frozen=True)
class Stratum:
    """Scenario i's quantiles for its age band and its gender."""

    age: float
    gender: float


def stratum(seed: int, index: int) -> Stratum:
    start = random.Random(f"stratum:{seed}")
    a, g = start.random(), start.random()
    return Stratum((a + index * _STEPS[0]) % 1.0, (g + index * _STEPS[1]) % 1.0)


def pick(options: Sequence[str], weights: Sequence[float], quantile: float) -> str:
    """The option whose slice of the cumulative weights holds `quantile` (0 <= q < 1)."""
    total = sum(weights)
    running = 0.0
    for option, weight in zip(options, weights, strict=True):
        running += weight / total
        if quantile < running:
            return option
    return next(o for o, w in zip(reversed(options), reversed(weights), strict=True) if w > 0)


def fit_shares(
    rows: dict[str, float], feasible: dict[str, set[str]], target: Shares
) -> dict[str, Shares]:
    """Per row (a cell, with its share of the bank), weights over the columns (age bands)
    it allows, such that the rows together give the target column shares as nearly as the
    allowed pairs permit: iterative proportional fitting from the target itself."""
    total = sum(target.values())
    goal = {c: v / total for c, v in target.items()}
    row_total = sum(rows.values())
    table = {r: {c: goal[c] for c in feasible[r] if goal.get(c, 0) > 0} for r in rows}
    for _ in range(_FIT_ROUNDS):
        for r, cells in table.items():
            s = sum(cells.values())
            for c in cells:
                cells[c] *= rows[r] / row_total / s if s else 0.0
        columns = {c: sum(t.get(c, 0.0) for t in table.values()) for c in goal}
        for cells in table.values():
            for c in cells:
                if columns[c] > 0:
                    cells[c] *= goal[c] / columns[c]
    fitted: dict[str, Shares] = {}
    for r, cells in table.items():
        s = sum(cells.values())
        fitted[r] = {c: v / s for c, v in cells.items()} if s else dict.fromkeys(feasible[r], 1.0)
    return fitted
