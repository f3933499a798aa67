"""`factory filter` and `factory import esconv`: curate dialogues, bring in real ones."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

RecipeOpt = Annotated[
    str, typer.Option("--recipe", "-r", help="A shipped recipe name (default) or a .yaml path.")
]
FilterOutOpt = Annotated[
    Path, typer.Option("--out", "-o", help="Folder for kept.jsonl, rejected.jsonl, report.json.")
]

MAX_WARNINGS = 10

import_app = typer.Typer(help="Bring real ESC data into the dialogue format.")


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


@import_app.command("esconv")
def import_esconv_command(
    paths: Annotated[
        list[Path], typer.Argument(help="ESConv .jsonl splits and/or ESConv.json-style files.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Dialogues .jsonl to write.")],
) -> None:
    """Convert ESConv (HF split format or original schema) into dialogues.jsonl lines."""
    from factory.errors import DataFileError, RunDirError
    from factory.importers.esconv import import_esconv

    if out.is_dir():
        raise RunDirError(
            f"{out} is a directory: pass a file path to --out, e.g. {out / 'esconv.jsonl'}"
        )
    dialogues, problems = import_esconv(paths)
    for problem in problems[:MAX_WARNINGS]:
        print(f"warning: skipped {problem}", file=sys.stderr)
    if len(problems) > MAX_WARNINGS:
        print(
            f"warning: ... and {len(problems) - MAX_WARNINGS} more records skipped", file=sys.stderr
        )
    if not dialogues:
        raise DataFileError(
            f"no ESConv dialogues in {', '.join(map(str, paths))}: expected records with a `dialog`"
            " list (is the file already in the factory's dialogue format?)"
        )
    tmp = out.with_name(out.name + ".tmp")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("w", encoding="utf-8") as handle:
            for dialogue in dialogues:
                handle.write(
                    json.dumps(
                        dialogue.model_dump(mode="json", exclude_none=True), ensure_ascii=False
                    )
                    + "\n"
                )
        tmp.replace(out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise RunDirError(f"cannot write {out} ({exc.strerror}): pass a writable --out") from None
    typer.echo(f"imported {len(dialogues)} dialogues to {out} ({len(problems)} skipped)")
