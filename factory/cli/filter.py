"""`factory filter`: run a filter recipe over dialogues and print its funnel."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from factory.cli.options import EmbeddingsOpt, embedding_store, print_warning

RecipeOpt = Annotated[
    str,
    typer.Option(
        "--recipe", "-r", metavar="<name|path>", help="A shipped recipe's name or a .yaml path."
    ),
]
JudgeOpt = Annotated[
    bool,
    typer.Option(
        "--judge",
        help="Judge with the runs' own model (openai or vllm runs): the quality judge, and the"
        " emotion judge where the recipe lists it (the default does); stays off, and says so,"
        " for the embedded model.",
    ),
]
RayOpt = Annotated[
    bool,
    typer.Option(
        "--ray",
        help="Run the per-dialogue filters on Ray actors (`ray` extra); same output.",
    ),
]
AddressOpt = Annotated[
    str | None,
    typer.Option(
        help="Ray cluster address, HOST:PORT or ray://HOST:10001 (implies --ray).",
        show_default="a local Ray for this run",
    ),
]
FilterOutOpt = Annotated[
    Path, typer.Option("--out", "-o", help="Folder for kept.jsonl, rejected.jsonl, report.json.")
]


def filter_command(
    source: Annotated[Path, typer.Argument(help="A dialogues .jsonl or a run directory.")],
    out: FilterOutOpt,
    recipe: RecipeOpt = "default",
    judge: JudgeOpt = False,
    ray: RayOpt = False,
    address: AddressOpt = None,
    embeddings: EmbeddingsOpt = None,
) -> None:
    """Run a filter recipe: kept.jsonl, rejected.jsonl (with every verdict) and report.json."""
    from factory.embedding_store import counts_line
    from factory.filters.judge_backend import with_run_judge
    from factory.filters.pipeline import BatchRunner, render_funnel, run_in_process, run_recipe
    from factory.filters.recipe import load_recipe

    chosen = load_recipe(recipe)
    if judge:
        chosen = with_run_judge(chosen, [source])
        if chosen.judge_off:
            print_warning(f"judge off: {chosen.judge_off}")
    runner: BatchRunner = run_in_process
    if ray or address:
        from factory.filters.ray_stages import RayStages
        from factory.runs.ray_tasks import RayOptions

        runner = RayStages(RayOptions(address=address))
    try:
        report = run_recipe(
            source,
            chosen,
            out,
            warn=print_warning,
            progress=lambda line: print(line, file=sys.stderr),
            runner=runner,
            embeddings=embedding_store(
                embeddings, source, print_warning if chosen.embeds else None
            ),
        )
    finally:
        if ray or address:
            from factory.runs.ray_tasks import shutdown

            shutdown()
    typer.echo(render_funnel(report))
    if report.embeddings is not None:
        typer.echo(counts_line(report.embeddings.model_dump()))
    typer.echo(
        f"wrote {out / 'kept.jsonl'}, {out / 'rejected.jsonl'}, {out / 'report.json'} in {report.seconds:.1f}s"
    )
