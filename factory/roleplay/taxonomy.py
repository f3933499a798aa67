"""Strategy taxonomies: data files in prompts/strategies/, one YAML per taxonomy."""

from __future__ import annotations

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from factory.errors import DataFileError, first_error_line
from factory.resources import named_yaml, read_text


class Strategy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    description: str = Field(min_length=1)


PHASES = ("opening", "exploration", "comforting", "action", "closing")


class StrategyTaxonomy(BaseModel):
    """A named list of support strategies the counselor chooses from, with an optional
    reference mix (each strategy's share in the data the taxonomy comes from) and optional
    phase rules (the strategies allowed in a phase)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    strategies: list[Strategy] = Field(min_length=2)
    mix: dict[str, float] | None = None
    phase_mix: dict[str, dict[str, float]] = Field(default_factory=dict)
    phase_rules: dict[str, list[str]] = Field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.strategies]


def load_taxonomy(name_or_path: str) -> StrategyTaxonomy:
    """Load a shipped taxonomy by name (esconv, extes) or any YAML file by path."""
    path = named_yaml("prompts/strategies", name_or_path, "strategy taxonomy")
    try:
        taxonomy = StrategyTaxonomy.model_validate(yaml.safe_load(read_text(path)))
    except (yaml.YAMLError, ValidationError) as exc:
        raise DataFileError(f"{path}: not a valid taxonomy ({first_error_line(exc)})") from None
    if len(set(taxonomy.names)) != len(taxonomy.names):
        raise DataFileError(f"{path}: strategy names must be unique")
    if problem := taxonomy_problem(taxonomy):
        raise DataFileError(f"{path}: {problem}")
    return taxonomy


def taxonomy_problem(taxonomy: StrategyTaxonomy) -> str | None:
    """What is wrong with a taxonomy's mix or phase rules, if anything."""
    known = set(taxonomy.names)
    if taxonomy.mix is not None:
        if unknown := sorted(set(taxonomy.mix) - known):
            return f"mix names unknown strategies: {', '.join(unknown)}"
        if any(v < 0 for v in taxonomy.mix.values()) or sum(taxonomy.mix.values()) <= 0:
            return "mix shares must be non-negative and not all zero"
    for phase, shares in taxonomy.phase_mix.items():
        if phase not in PHASES:
            return f"phase_mix: unknown phase '{phase}' (phases: {', '.join(PHASES)})"
        if unknown := sorted(set(shares) - known):
            return f"phase_mix.{phase} names unknown strategies: {', '.join(unknown)}"
        if any(v < 0 for v in shares.values()) or sum(shares.values()) <= 0:
            return f"phase_mix.{phase}: shares must be non-negative and not all zero"
    for phase, allowed in taxonomy.phase_rules.items():
        if phase not in PHASES:
            return f"phase_rules: unknown phase '{phase}' (phases: {', '.join(PHASES)})"
        if not allowed or (unknown := sorted(set(allowed) - known)):
            return f"phase_rules.{phase}: must list known strategies"
    return None
