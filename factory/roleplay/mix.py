"""Run-level strategy-mix control. A model has favourite strategies; left alone, a run's mix
follows the model, not the data it should imitate. The controller keeps a running count of
the strategies used across the run and, before each counselor call, trims from the allowed
set the strategies already above their target share, always leaving the counselor at least
`min_choices` of the most under-used ones to choose from. The counselor still chooses; the
control only narrows the menu.

When the target comes with a mix per phase (a taxonomy's `phase_mix`), counts and targets
are kept per phase: Question is common while the story is told and rare at the goodbye, so
a run-wide count would take it off the menu exactly where it fits."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import yaml

from factory.errors import DataFileError, first_error_line
from factory.resources import read_text
from factory.roleplay.taxonomy import StrategyTaxonomy, load_taxonomy

MIN_CHOICES = 3
TOLERANCE = 0.01


def target_mix(spec: str, taxonomy: StrategyTaxonomy) -> dict[str, float]:
    """The target shares, summing to 1, for `spec`: `taxonomy` (the taxonomy's own mix,
    uniform when it has none), `uniform`, `esconv` (ESConv's mix; needs ESConv's names), or
    a YAML file mapping strategy names to weights."""
    names = taxonomy.names
    if spec == "uniform" or (spec == "taxonomy" and taxonomy.mix is None):
        raw = dict.fromkeys(names, 1.0)
    elif spec == "taxonomy":
        raw = dict(taxonomy.mix or {})
    elif spec == "esconv":
        raw = dict(load_taxonomy("esconv").mix or {})
        if unknown := sorted(set(raw) - set(names)):
            raise DataFileError(
                f"strategy_mix esconv names strategies taxonomy '{taxonomy.name}' lacks"
                f" ({', '.join(unknown)}): use taxonomy, uniform or a mix file"
            )
    else:
        raw = _read_mix_file(Path(spec), names)
    total = sum(raw.values())
    return {name: raw.get(name, 0.0) / total for name in names}


def _read_mix_file(path: Path, names: list[str]) -> dict[str, float]:
    if not path.is_file():
        raise DataFileError(
            f"strategy_mix '{path}' is neither taxonomy, uniform, esconv nor an existing file"
        )
    try:
        data = yaml.safe_load(read_text(path))
    except yaml.YAMLError as exc:
        raise DataFileError(f"{path}: not valid YAML ({first_error_line(exc)})") from None
    if not isinstance(data, dict) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in data.values()
    ):
        raise DataFileError(f"{path}: a strategy mix maps strategy names to weights >= 0")
    if unknown := sorted(set(map(str, data)) - set(names)):
        raise DataFileError(f"{path}: unknown strategies {', '.join(unknown)}")
    if sum(data.values()) <= 0:
        raise DataFileError(f"{path}: the weights are all zero")
    return {str(k): float(v) for k, v in data.items()}


def phase_targets(spec: str, taxonomy: StrategyTaxonomy) -> dict[str, dict[str, float]]:
    """Per-phase targets, when the spec is the taxonomy's own mix and the taxonomy has them
    (normalised over its strategies); empty otherwise (one target for every phase)."""
    if spec not in ("taxonomy", "esconv") or not taxonomy.phase_mix:
        return {}
    if spec == "esconv" and taxonomy.name != "esconv":
        return {}
    out = {}
    for phase, raw in taxonomy.phase_mix.items():
        total = sum(raw.values())
        out[phase] = {name: raw.get(name, 0.0) / total for name in taxonomy.names}
    return out


class MixController:
    """Counts strategies across a run and trims the counselor's menu towards the target."""

    def __init__(
        self,
        target: dict[str, float],
        *,
        by_phase: dict[str, dict[str, float]] | None = None,
        enabled: bool = True,
        tolerance: float = TOLERANCE,
        min_choices: int = MIN_CHOICES,
    ) -> None:
        self.target = target
        self.by_phase = by_phase or {}
        self.enabled = enabled
        self.tolerance = tolerance
        self.min_choices = min_choices
        self.counts: Counter[str] = Counter()
        self.phase_counts: dict[str, Counter[str]] = {}

    def observe(self, strategies: Iterable[str | None], phase: str | None = None) -> None:
        used = [s for s in strategies if s]
        self.counts.update(used)
        if phase is not None:
            self.phase_counts.setdefault(phase, Counter()).update(used)

    def _scope(self, phase: str | None) -> tuple[dict[str, float], Counter[str]]:
        """The target and the counts the phase is steered by."""
        if phase is not None and phase in self.by_phase:
            return self.by_phase[phase], self.phase_counts.get(phase, Counter())
        return self.target, self.counts

    def deficit(self, name: str, phase: str | None = None) -> float:
        """How many uses `name` is short of its target share after one more choice."""
        target, counts = self._scope(phase)
        total = sum(counts.values()) + 1
        return target.get(name, 0.0) * total - counts[name]

    def trim(self, allowed: list[str], phase: str | None = None) -> list[str]:
        """The allowed strategies the counselor may choose from now, in taxonomy order."""
        if not self.enabled or len(allowed) <= self.min_choices:
            return allowed
        _, counts = self._scope(phase)
        # Over target by more than the tolerance (in share points, plus one use of slack so
        # the first few choices are free): off the menu for now.
        slack = self.tolerance * (sum(counts.values()) + 1) + 1
        keep = {name for name in allowed if self.deficit(name, phase) > -slack}
        if len(keep) < self.min_choices:
            by_need = sorted(allowed, key=lambda name: -self.deficit(name, phase))
            keep |= set(by_need[: self.min_choices])
        return [name for name in allowed if name in keep]

    def achieved(self) -> dict[str, float]:
        total = sum(self.counts.values())
        return {name: round(self.counts[name] / total, 4) for name in self.target} if total else {}
