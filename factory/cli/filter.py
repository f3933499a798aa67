"""`factory filter`: run a filter recipe over dialogues and print its funnel."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

RecipeOpt = Annotated[
    str,
    typer.Option(
        "--recipe", "-r", metavar="<name|path>", help="A shipped recipe's name or a .yaml path."
    ),
]
FilterOutOpt = Annotated[
    Path, typer.Option("--out", "-o", help="Folder for kept.jsonl, rejected.jsonl, report.json.")
]


def filter_command(
    source: Annotated[Path, typer.Argument(help="A dialogues .jsonl or a run directory.")],
    out: FilterOutOpt,
    recipe: RecipeOpt = "default",
) -> None:
    """Run a filter recipe: kept.jsonl, rejected.jsonl (with every verdict) and report.json."""
    from factory.filters.pipeline import render_funnel, run_recipe
    from factory.filters.recipe import load_recipe

    report = run_recipe(
        source,
        load_recipe(recipe),
        out,
        warn=lambda message: print(f"warning: {message}", file=sys.stderr),
    )
    typer.echo(render_funnel(report))
    typer.echo(
        f"wrote {out / 'kept.jsonl'}, {out / 'rejected.jsonl'}, {out / 'report.json'} in {report.seconds:.1f}s"
    )
