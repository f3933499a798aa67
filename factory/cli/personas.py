"""`factory personas sample|stats|check`: build a scenario bank, measure its coverage, and
check it against the plausibility rules."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from factory.backends.config import BackendKind, flag_overrides
from factory.cli.help_format import FactoryCommand, FactoryGroup, config_default
from factory.cli.options import BACKEND_PANEL, BaseUrlOpt, ModelOpt
from factory.scenarios.builder import ScenarioConfig, SituationMode
from factory.scenarios.sampler import Marginals, Mix

app = typer.Typer(
    help="Sample seekers (persona x problem x emotion x situation) and check coverage.",
    cls=FactoryGroup,
)


def _default(key: str) -> str:
    return config_default(ScenarioConfig, key)


ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="YAML settings file.")]
NOpt = Annotated[
    int | None,
    typer.Option("--n", "-n", help="Number of scenarios.", show_default=_default("n")),
]
SeedOpt = Annotated[int | None, typer.Option("--seed", help="Seed.", show_default=_default("seed"))]
OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Scenario bank to write (.jsonl).")]
MixOpt = Annotated[
    Mix | None,
    typer.Option("--mix", help="Target weights over the grid.", show_default=_default("mix")),
]
MarginalsOpt = Annotated[
    Marginals | None,
    typer.Option(
        "--marginals",
        help="Age, gender and home shares: personas/population.yaml's, or the pools evenly.",
        show_default=_default("marginals"),
    ),
]
SituationsOpt = Annotated[
    SituationMode | None,
    typer.Option(
        "--situations",
        help="Where situations come from.",
        show_default=_default("situations"),
    ),
]
SeedsOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--seeds", metavar="<path>", help="Seed file for --situations seeded (repeatable)."
    ),
]
BackendOpt = Annotated[
    BackendKind | None,
    typer.Option(
        "--backend",
        "-b",
        help="Backend for llm/seeded situations.",
        show_default=_default("backend"),
        rich_help_panel=BACKEND_PANEL,
    ),
]
NoDedupOpt = Annotated[bool, typer.Option("--no-dedup", help="Keep near-duplicate situations.")]
DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", help="A personas folder.", show_default="the shipped one"),
]


@app.command("sample", cls=FactoryCommand)
def sample_command(
    out: OutOpt,
    config: ConfigOpt = None,
    n: NOpt = None,
    seed: SeedOpt = None,
    mix: MixOpt = None,
    marginals: MarginalsOpt = None,
    situations: SituationsOpt = None,
    seeds: SeedsOpt = None,
    backend: BackendOpt = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    no_dedup: NoDedupOpt = False,
    data_dir: DataDirOpt = None,
) -> None:
    """Write N scenarios, one per line; same seed and config give a byte-identical file."""
    from factory.progress import Progress
    from factory.scenarios.builder import ScenarioConfig, write_sampled_bank
    from factory.settings import load_settings

    cfg = load_settings(
        ScenarioConfig,
        config,
        {
            "n": n,
            "seed": seed,
            "mix": mix,
            "marginals": marginals,
            "situations": situations,
            "seeds": [str(p) for p in seeds] if seeds else None,
            **flag_overrides(backend, base_url, model),
            "dedup.enabled": False if no_dedup else None,
            "data_dir": str(data_dir) if data_dir else None,
        },
    )
    report = write_sampled_bank(
        cfg, out, progress=Progress.for_stream(sys.stderr, unit="scenarios")
    )
    typer.echo(f"wrote {report.scenarios} scenarios to {out} in {report.seconds:.1f}s")
    if cfg.dedup.enabled:
        typer.echo(
            f"near-duplicates rejected: {report.duplicates_rejected}"
            f" (kept after {cfg.dedup.max_attempts} attempts: {report.kept_after_max_attempts})"
        )
    if report.usage.calls:
        refused = (
            ", ".join(f"{reason} {n}" for reason, n in report.refused_outputs.items()) or "none"
        )
        typer.echo(
            f"situations by LLM: {report.usage.calls} calls, {report.llm_fallbacks} fell back to"
            f" templates; outputs refused: {refused}"
        )
    if report.implausible_redrawn:
        rules = ", ".join(f"{rule} {n}" for rule, n in report.implausible_redrawn.most_common())
        typer.echo(
            f"implausible drafts redrawn: {sum(report.implausible_redrawn.values())} ({rules})"
        )
    if report.infeasible_cells:
        cells = "; ".join(f"{p} x {e}" for p, e in report.infeasible_cells)
        typer.echo(f"cells no persona can satisfy (left out): {cells}")


@app.command("stats", cls=FactoryCommand)
def stats_command(path: Path, data_dir: DataDirOpt = None) -> None:
    """Print the problem x emotion coverage and the attribute marginals of a scenario bank."""
    from factory.scenarios.persona_bank import PersonaBank
    from factory.scenarios.sampler import PersonaSampler
    from factory.scenarios.stats import SkeletonBlanker, bank_stats, read_bank, render_stats

    scenarios = read_bank(path)
    bank = PersonaBank(data_dir)
    sampler = PersonaSampler(bank)
    typer.echo(render_stats(bank_stats(scenarios, sampler.cells, SkeletonBlanker(bank))))


@app.command("check", cls=FactoryCommand)
def check_command(path: Path, data_dir: DataDirOpt = None) -> None:
    """Check a scenario bank against the plausibility rules (personas/constraints.yaml):
    one line per rule with its count of violations and an example id; exit 1 if any."""
    from factory.scenarios.bank_check import check_scenarios, read_bank_file, render_check
    from factory.scenarios.persona_bank import PersonaBank

    scenarios = read_bank_file(path)
    result = check_scenarios(scenarios, PersonaBank(data_dir))
    typer.echo(render_check(result))
    if not result.clean:
        raise typer.Exit(1)
