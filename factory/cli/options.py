"""Options that several commands share, declared once."""

from __future__ import annotations

from typing import Annotated

import typer

BaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--base-url", help="OpenAI-compatible server URL; several, comma-separated, are balanced."
    ),
]
ModelOpt = Annotated[
    str | None, typer.Option("--model", "-m", help="Served model name, or GGUF path for local.")
]
