"""Strategy taxonomies: data files in prompts/strategies/, one YAML per taxonomy."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from factory.errors import DataFileError, first_error_line
from factory.resources import data_dir, read_text


class Strategy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    description: str = Field(min_length=1)


class StrategyTaxonomy(BaseModel):
    """A named list of support strategies the counselor chooses from."""

    model_config = ConfigDict(extra="forbid")

    name: str
    strategies: list[Strategy] = Field(min_length=2)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.strategies]


def taxonomy_path(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if path.suffix in {".yaml", ".yml"}:
        return path
    return data_dir("prompts") / "strategies" / f"{name_or_path}.yaml"


def load_taxonomy(name_or_path: str) -> StrategyTaxonomy:
    """Load a shipped taxonomy by name (esconv, extes) or any YAML file by path."""
    path = taxonomy_path(name_or_path)
    if not path.is_file():
        shipped = sorted(p.stem for p in (data_dir("prompts") / "strategies").glob("*.yaml"))
        raise DataFileError(
            f"unknown strategy taxonomy '{name_or_path}': use one of {', '.join(shipped)}"
            " or a path to a .yaml file"
        )
    try:
        taxonomy = StrategyTaxonomy.model_validate(yaml.safe_load(read_text(path)))
    except (yaml.YAMLError, ValidationError) as exc:
        raise DataFileError(f"{path}: not a valid taxonomy ({first_error_line(exc)})") from None
    if len(set(taxonomy.names)) != len(taxonomy.names):
        raise DataFileError(f"{path}: strategy names must be unique")
    return taxonomy
