"""Options that several commands share, declared once."""

from __future__ import annotations

from typing import Annotated

import typer

BACKEND_PANEL = "Backend"

BaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        help="OpenAI-compatible server URL; several, comma-separated, are balanced.",
        rich_help_panel=BACKEND_PANEL,
    ),
]
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        help="Served model name (required for openai), or a GGUF path for local.",
        rich_help_panel=BACKEND_PANEL,
    ),
]
