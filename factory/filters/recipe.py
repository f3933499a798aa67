"""Filter recipes (filters/*.yaml): which filters run, in what order, with which settings.

name: default
filters:
  - use: structure
    min_turns: 6
  - use: minhash_dedup
    threshold: 0.8
    enabled: false
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from factory.embedding_store import EmbeddingStore
from factory.errors import ConfigError, first_error_line
from factory.filters import FILTERS, Filter
from factory.resources import data_dir, read_text
from factory.settings import load_yaml, validation_line


@dataclass
class Recipe:
    """A loaded recipe: its enabled entries in order, and the disabled ones with the place
    they would take (so a flag such as `--judge` can switch one on where the file put it).
    `judge_off` says why a judge that was asked for stays off."""

    name: str
    path: Path
    sha256: str
    entries: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    disabled: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)
    judge_off: str | None = None

    @property
    def embeds(self) -> bool:
        """Whether a filter of the recipe embeds texts (reads and fills an embedding store)."""
        return any(FILTERS[name].embeds for name, _ in self.entries)

    def build(self, embeddings: EmbeddingStore | None = None) -> list[Filter[Any]]:
        """Fresh filter instances (dedup filters hold state, so one set per run). With a
        store, the filters that embed read and fill it instead of calling the model."""
        built: list[Filter[Any]] = []
        for name, settings in self.entries:
            cls = FILTERS[name]
            valid = cls.Settings.model_validate(settings)
            if embeddings is not None and cls.embeds:
                built.append(cls(valid, encoder=embeddings.encoder(name)))  # type: ignore[call-arg]
            else:
                built.append(cls(valid))
        return built


def recipe_path(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if path.suffix in {".yaml", ".yml"}:
        return path
    return data_dir("filters") / f"{name_or_path}.yaml"


def load_recipe(name_or_path: str) -> Recipe:
    path = recipe_path(name_or_path)
    if not path.is_file():
        shipped = sorted(p.stem for p in data_dir("filters").glob("*.yaml"))
        raise ConfigError(
            f"recipe '{name_or_path}' not found: use one of {', '.join(shipped)} or a .yaml path"
        )
    text = read_text(path, ConfigError)
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({first_error_line(exc)})") from None
    if not isinstance(data, dict) or not isinstance(data.get("filters"), list):
        raise ConfigError(f"{path}: a recipe is a mapping with a `filters:` list")
    unknown = set(data) - {"name", "description", "filters"}
    if unknown:
        raise ConfigError(
            f"{path}: unknown key(s) {', '.join(sorted(unknown))} (allowed: name, description, filters)"
        )
    recipe = Recipe(
        str(data.get("name") or path.stem), path, hashlib.sha256(text.encode()).hexdigest()[:16]
    )
    for index, raw in enumerate(data["filters"]):
        if not isinstance(raw, dict) or not isinstance(raw.get("use"), str):
            raise ConfigError(f"{path}: filters.{index}: each entry needs `use: <filter name>`")
        entry = dict(raw)
        name = entry.pop("use")
        enabled = entry.pop("enabled", True)
        if not isinstance(enabled, bool):
            raise ConfigError(
                f"{path}: filters.{index}: enabled must be true or false, not {enabled!r}"
            )
        if name not in FILTERS:
            raise ConfigError(
                f"{path}: filters.{index}: unknown filter '{name}' (known: {', '.join(FILTERS)})"
            )
        settings_model = FILTERS[name].Settings
        try:
            settings_model.model_validate(entry)
        except ValidationError as exc:
            detail = validation_line(exc, settings_model)
            raise ConfigError(f"{path}: filters.{index} ({name}): {detail}") from None
        if enabled:
            recipe.entries.append((name, entry))
        else:
            recipe.disabled.append((len(recipe.entries), name, entry))
    if not recipe.entries:
        raise ConfigError(f"{path}: no filter is enabled")
    return recipe
