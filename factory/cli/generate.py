"""`factory generate`: run the role-play for N scenarios into a run directory."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from factory.backends.config import BackendKind, dry_run_options, flag_overrides
from factory.cli.help_format import config_default
from factory.cli.options import BACKEND_PANEL, BaseUrlOpt, ModelOpt
from factory.errors import ConfigError
from factory.progress import Progress
from factory.runs.config import GenerationConfig, load_config

RUN, OUTPUT, BUDGET, SCALE_OUT = "What to make", "Output", "Budget", "Scale-out"


def _default(key: str) -> str:
    return config_default(GenerationConfig, key)


ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="YAML config file.", rich_help_panel=RUN),
]
NOpt = Annotated[
    int | None,
    typer.Option(
        "--n", "-n", help="Number of dialogues.", show_default=_default("n"), rich_help_panel=RUN
    ),
]
OutOpt = Annotated[
    str | None,
    typer.Option(
        "--out",
        "-o",
        help="Run directory or fsspec URL, e.g. s3://bucket/run.",
        show_default="outputs/runs/<backend>-<model>-seed<seed>",
        rich_help_panel=OUTPUT,
    ),
]
BackendOpt = Annotated[
    BackendKind | None,
    typer.Option(
        "--backend",
        "-b",
        help="Which backend runs the three roles.",
        show_default=_default("backend"),
        rich_help_panel=BACKEND_PANEL,
    ),
]
ConcurrencyOpt = Annotated[
    str | None,
    typer.Option(
        "--concurrency",
        metavar="<N|auto>",
        help="Dialogues in flight, or auto: found per endpoint while the run goes.",
        show_default=_default("concurrency"),
        rich_help_panel=BACKEND_PANEL,
    ),
]
SeedOpt = Annotated[
    int | None,
    typer.Option("--seed", help="Run seed.", show_default=_default("seed"), rich_help_panel=RUN),
]
ScenariosOpt = Annotated[
    str | None,
    typer.Option(
        "--scenarios",
        help="Scenario bank .jsonl to generate from.",
        show_default="drawn on the fly",
        rich_help_panel=RUN,
    ),
]
TaxonomyOpt = Annotated[
    str | None,
    typer.Option(
        "--taxonomy",
        metavar="<esconv|extes|path>",
        help="Strategy taxonomy: a shipped one or a YAML path.",
        show_default=_default("roleplay.taxonomy"),
        rich_help_panel=RUN,
    ),
]
DryRunOpt = Annotated[
    bool,
    typer.Option(
        "--dry-run",
        help="Use the scripted backend: no model, instant.",
        rich_help_panel=BACKEND_PANEL,
    ),
]


def concurrency_value(text: str | None) -> int | str | None:
    """`--concurrency`: a whole number of dialogues, or auto."""
    if text is None or text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"--concurrency must be a whole number or auto, not '{text}'") from None


def generate_command(
    config: ConfigOpt = None,
    n: NOpt = None,
    out: OutOpt = None,
    backend: BackendOpt = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    concurrency: ConcurrencyOpt = None,
    seed: SeedOpt = None,
    scenarios: ScenariosOpt = None,
    taxonomy: TaxonomyOpt = None,
    dry_run: DryRunOpt = False,
    max_tokens: Annotated[
        int | None,
        typer.Option(help="Token budget for the whole run (all sessions).", rich_help_panel=BUDGET),
    ] = None,
    ray: Annotated[
        bool,
        typer.Option(
            "--ray",
            help="Run chunks of dialogues as Ray tasks (`ray` extra).",
            rich_help_panel=SCALE_OUT,
        ),
    ] = False,
    address: Annotated[
        str | None,
        typer.Option(
            help="Ray cluster address, HOST:PORT or ray://HOST:10001.",
            show_default="a local Ray for this run",
            rich_help_panel=SCALE_OUT,
        ),
    ] = None,
    ray_chunk: Annotated[
        int, typer.Option(min=1, help="Scenarios per Ray task.", rich_help_panel=SCALE_OUT)
    ] = 8,
    max_cost: Annotated[
        float | None,
        typer.Option(
            help="Money budget for the whole run; needs budget.prices in --config.",
            rich_help_panel=BUDGET,
        ),
    ] = None,
    max_concurrency: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="The ceiling of --concurrency auto.",
            show_default=_default("max_concurrency"),
            rich_help_panel=BACKEND_PANEL,
        ),
    ] = None,
) -> None:
    """Generate persona-grounded ESC dialogues; rerun the same command to resume."""
    from factory.runs.launch import run_generation
    from factory.runs.ray_tasks import RayOptions

    cfg = load_config(
        config,
        {
            "n": n,
            "seed": seed,
            "concurrency": concurrency_value(concurrency),
            "max_concurrency": max_concurrency,
            "scenarios": scenarios,
            **flag_overrides(backend, base_url, model),
            "roleplay.taxonomy": taxonomy,
            "budget.max_tokens": max_tokens,
            "budget.max_cost": max_cost,
        },
    )
    if dry_run:
        cfg = cfg.model_copy(update={"backend": dry_run_options(cfg.backend)})
    report = run_generation(
        cfg,
        out,
        ray=RayOptions(address=address, chunk_size=ray_chunk) if ray or address else None,
        progress=Progress.for_stream(sys.stderr),
    )
    typer.echo(
        f"wrote {report.written} dialogues ({report.already_done} already there) to"
        f" {report.location}/dialogues.jsonl in {report.seconds:.1f}s"
    )
    if report.end_reasons:
        reasons = ", ".join(
            f"{reason} {count}" for reason, count in sorted(report.end_reasons.items())
        )
        typer.echo(f"end reasons: {reasons}")
    if (mix := report.strategy_mix) is not None and mix.jsd_bits is not None:
        control = "on" if mix.control else "off"
        typer.echo(
            f"strategy mix: {mix.supporter_turns} supporter turns, {mix.jsd_bits:.3f} bits"
            f" (Jensen-Shannon) from the target, mix control {control}"
        )
    usage = report.usage
    typer.echo(
        f"usage: {usage.calls} calls ({usage.failed_calls} failed),"
        f" {usage.prompt_tokens} prompt + {usage.completion_tokens} completion tokens"
    )
    # Not every dialogue was made: say so and exit 1, so scripts do not take it as done.
    if (error := report.unfinished()) is not None:
        raise error
