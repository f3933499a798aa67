"""`factory import esconv`: bring real ESC data into the dialogue format."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from factory.cli.help_format import FactoryCommand, FactoryGroup

import_app = typer.Typer(help="Bring real ESC data into the dialogue format.", cls=FactoryGroup)


@import_app.command("esconv", cls=FactoryCommand)
def import_esconv_command(
    paths: Annotated[
        list[Path], typer.Argument(help="ESConv .jsonl splits and/or ESConv.json-style files.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Dialogues .jsonl to write.")],
) -> None:
    """Convert ESConv (HF split format or original schema) into dialogues.jsonl lines."""
    from factory.importers.esconv import import_esconv_file

    written, skipped = import_esconv_file(
        paths, out, warn=lambda message: print(f"warning: {message}", file=sys.stderr)
    )
    typer.echo(f"imported {written} dialogues to {out} ({skipped} skipped)")
