"""How `--help` reads: typer's command and group classes with two corrections, used by every
`factory` command.

- A flag takes no value, so it shows no `<bool>` (typer 0.29's panels print one, and
  `--dry-run <bool>` invited `--dry-run true`, which fails).
- An option whose default the config file decides (None on the command line, so that only a
  given flag overrides the file) names that default with `show_default="X"`; it is shown as
  `[default: X]`, like every other default, instead of typer's `[default: (X)]`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer.core
from pydantic import BaseModel


def config_default(model: type[BaseModel], dotted: str) -> str:
    """The default of a settings key as help shows it (`kind` of a nested model, an enum's
    value), read from the model, so help cannot disagree with the config."""
    *parents, leaf = dotted.split(".")
    for name in parents:
        model = type(model.model_fields[name].get_default(call_default_factory=True))
    value = model.model_fields[leaf].get_default(call_default_factory=True)
    if isinstance(value, BaseModel) and "kind" in type(value).model_fields:
        value = value.kind  # type: ignore[attr-defined]
    return str(getattr(value, "value", value))


@contextmanager
def _as_shown(params: list[Any]) -> Iterator[None]:
    """Options dressed for help for as long as the help is rendered, then put back."""
    saved = []
    for param in params:
        if not isinstance(param, typer.core.TyperOption):
            continue
        saved.append((param, param.metavar, param.default, param.show_default))
        if param.is_flag and param.metavar is None:
            param.metavar = ""
        if isinstance(param.show_default, str):
            param.default, param.show_default = param.show_default, True
    try:
        yield
    finally:
        for param, metavar, default, show_default in saved:
            param.metavar, param.default, param.show_default = metavar, default, show_default


class FactoryCommand(typer.core.TyperCommand):
    """A `factory` command whose help shows flags as flags and every default alike."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        with _as_shown(self.get_params(ctx)):
            super().format_help(ctx, formatter)


class FactoryGroup(typer.core.TyperGroup):
    """A `factory` command group (the root, `personas`, `import`) with the same help."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        with _as_shown(self.get_params(ctx)):
            super().format_help(ctx, formatter)
