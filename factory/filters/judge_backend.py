"""`--judge`: the runs' own model as the LLM judge. A run made through an OpenAI-compatible
server or vLLM names its backend in manifest.json; the judge then uses that backend (its
retries and timeouts) and the run's prices, so its calls are counted and costed like the
generation's. The embedded model and the scripted backend cannot judge: the judge stays off
and the recipe says why, for the funnel's caller and the dataset card."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from factory.backends.base import BackendKind
from factory.backends.config import BackendConfig
from factory.errors import ConfigError, first_error_line
from factory.filters import FILTERS
from factory.filters.pipeline import input_file
from factory.filters.recipe import Recipe
from factory.runs.run_dir import RunDir, RunManifest
from factory.secrets import REDACTED

JUDGE_BACKENDS = frozenset({BackendKind.openai, BackendKind.vllm})
_OFF = {
    BackendKind.local: "the local backend (the embedded model), too small to judge",
    BackendKind.scripted: "the scripted backend (canned answers, no model)",
    BackendKind.distilabel: "a distilabel LLM class, which --judge does not reuse"
    " (name the judge's backend in a recipe instead)",
}


def _run_backend(source: Path, run: RunManifest) -> tuple[BackendConfig, dict[str, Any]]:
    """The backend a run was made with, and the prices its config gave."""
    raw = run.config.get("backend") or {}
    try:
        backend: BackendConfig = TypeAdapter(BackendConfig).validate_python(raw)
    except ValidationError as exc:
        raise ConfigError(
            f"--judge: {source}: the run's manifest names no usable backend"
            f" ({first_error_line(exc)}): name the judge's backend in a recipe"
        ) from None
    if REDACTED in json.dumps(raw):
        raise ConfigError(
            f"--judge: {source}: the run's backend address held a login, which is not saved:"
            " name the judge's backend (without the login) in a recipe"
        )
    budget = run.config.get("budget") or {}
    return backend, dict(budget.get("prices") or {})


def _identity(backend: BackendConfig) -> str:
    """What makes two runs' backends one judge: kind, model and address."""
    dump = backend.model_dump(mode="json")
    where = dump.get("base_urls") or dump.get("base_url") or ""
    return f"{backend.kind} {backend.model or ''} {where}".strip()


def with_run_judge(recipe: Recipe, sources: list[Path]) -> Recipe:
    """The recipe with its judge on and judging through the runs' own backend; or, when that
    backend cannot judge, the recipe unchanged but for `judge_off`. The judge entry keeps
    its settings from the recipe (even a disabled one, in its place) except `backend`, which
    the runs' replaces; a recipe without one gets the defaults, before any filter that needs
    every dialogue. An emotion_judge entry the recipe lists is switched on the same way; a
    recipe without one gets none."""
    found: dict[str, tuple[Path, BackendConfig, dict[str, Any]]] = {}
    for source in sources:
        run = RunDir(input_file(source).parent).read_manifest()
        if run is not None:
            backend, prices = _run_backend(source, run)
            found.setdefault(_identity(backend), (source, backend, prices))
    if not found:
        names = ", ".join(str(s) for s in sources)
        raise ConfigError(
            f"--judge uses the backend a run's manifest.json names, and {names} has none:"
            " pass run directories, or give the judge entry of a recipe its own `backend:`"
        )
    if len(found) > 1:
        raise ConfigError(
            f"--judge: the runs were made by different backends ({'; '.join(found)}):"
            " name the judge's backend in a recipe instead"
        )
    _, backend, prices = next(iter(found.values()))
    if backend.kind not in JUDGE_BACKENDS:
        why = _OFF.get(backend.kind, f"the {backend.kind} backend")
        return dataclasses.replace(
            recipe, judge_off=f"--judge was given, but the runs were made by {why}"
        )
    return _switched_on(recipe, backend, prices)


def _switched_on(recipe: Recipe, backend: BackendConfig, prices: dict[str, Any]) -> Recipe:
    def on(name: str, settings: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        budget = dict(settings.get("budget") or {})
        if prices and not budget.get("prices"):
            budget["prices"] = prices
        settings = {**settings, "backend": backend.model_dump(mode="json"), "budget": budget}
        FILTERS[name].Settings.model_validate(settings)  # the recipe's keys were checked at load
        return name, settings

    asked = ("judge", "emotion_judge")
    entries = [on(n, s) if n in asked else (n, s) for n, s in recipe.entries]
    # A disabled entry's place counts the enabled entries before it, so entries disabled in
    # a row share one: inserting the last in the file first leaves them in the file's order.
    switched = [d for d in recipe.disabled if d[1] in asked]
    for place, name, settings in reversed(switched):
        entries.insert(place, on(name, settings))
    if not any(n == "judge" for n, _ in entries):
        at = next((i for i, (n, _) in enumerate(entries) if FILTERS[n].needs_all), len(entries))
        entries.insert(at, on("judge", {}))
    disabled = [d for d in recipe.disabled if d not in switched]
    return dataclasses.replace(
        recipe, name=f"{recipe.name}+judge", entries=entries, disabled=disabled, judge_off=None
    )
