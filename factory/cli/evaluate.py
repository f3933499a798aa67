"""`factory eval`: measure dialogues beside a reference and write a report with plots."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from factory.cli.options import EmbeddingsOpt, embedding_store, print_warning


def eval_command(
    path: Annotated[
        Path,
        typer.Argument(
            help="A dialogues .jsonl, a run directory, a filter output or a dataset version."
        ),
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for report.json, report.md and plots.")
    ],
    reference: Annotated[
        Path | None,
        typer.Option(
            "--reference",
            help="Dialogues to compare with, e.g. ESConv from `factory import esconv`.",
        ),
    ] = None,
    realism: Annotated[
        bool,
        typer.Option(
            help="Train the real-vs-synthetic classifier (needs --reference and the embed extra)."
        ),
    ] = True,
    sample_size: Annotated[
        int, typer.Option(help="Dialogues per sample for the fixed-size distinct-n.")
    ] = 100,
    seed: Annotated[int, typer.Option(help="Seed of the samples and the classifier's folds.")] = 0,
    embeddings: EmbeddingsOpt = None,
) -> None:
    """Statistics, strategy divergence, realism AUC and plots for a set of dialogues."""
    from factory.embedding_store import counts_line
    from factory.errors import ConfigError
    from factory.evaluation.evaluate import evaluate

    if sample_size < 10:
        raise ConfigError(f"--sample-size {sample_size} is too small: use 10 or more")
    report = evaluate(
        path,
        out,
        reference,
        realism=realism,
        sample_size=sample_size,
        seed=seed,
        warn=print_warning,
        progress=lambda message: print(message, file=sys.stderr),
        embeddings=embedding_store(embeddings, path, print_warning) if embeddings else None,
    )
    for name, why in sorted(report.skipped.items()):
        print(f"skipped {name}: {why}", file=sys.stderr)
    m = report.measures
    typer.echo(
        f"{m.dialogues} dialogues, {m.utterances_per_dialogue} utterances each,"
        f" distinct-2 {m.distinct_2}"
    )
    for warning in report.comparison.warnings or []:
        print_warning(warning)
    if report.comparison.strategy_jsd is not None:
        typer.echo(f"strategy JSD vs reference: {report.comparison.strategy_jsd}")
    if (r := report.comparison.realism) is not None:
        typer.echo(f"realism AUC: {r.auc_mean} ± {r.auc_std}")
    for used in report.embeddings or []:
        typer.echo(counts_line(used.model_dump()))
    typer.echo(
        f"wrote {out / 'report.md'}, {out / 'report.json'} and {len(report.plots)} plots in {report.seconds}s"
    )
