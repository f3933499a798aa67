"""`factory curate | versions | diff | export | push`: dataset versions from generation runs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from factory.cli.filter import JudgeOpt, RecipeOpt
from factory.cli.options import EmbeddingsOpt, embedding_store, print_warning
from factory.dataset.chat_layout import ChatLayout
from factory.dataset.layout import Bump, ExportFormat

RootOpt = Annotated[Path, typer.Option("--root", help="Folder that holds the datasets.")]
DEFAULT_ROOT = Path("outputs/datasets")
LayoutOpt = Annotated[
    ChatLayout,
    typer.Option(
        "--layout",
        help="Chat layout: as_happened, user_first, alternating (ends on the assistant)"
        " or no_system (system text in the first user turn); docs/datasets.md.",
    ),
]
TokenizerOpt = Annotated[
    Path | None,
    typer.Option(
        "--tokenizer",
        help="Local tokenizer folder to count tokens for the card; without it, an estimate.",
    ),
]


def _system_prompt(path: Path | None) -> str:
    """The user's system prompt file, or the shipped one."""
    from factory.chat import default_system_prompt
    from factory.errors import ConfigError
    from factory.resources import read_text

    return read_text(path, ConfigError).strip() if path else default_system_prompt()


def curate_command(
    runs: Annotated[list[Path], typer.Argument(help="Run directories or dialogues .jsonl files.")],
    name: Annotated[str, typer.Option("--name", help="Dataset name (a folder under --root).")],
    recipe: RecipeOpt = "default",
    judge: JudgeOpt = False,
    out: Annotated[
        Path,
        typer.Option(
            "--root", "--out", "-o", help="Folder that holds the datasets (as --root elsewhere)."
        ),
    ] = DEFAULT_ROOT,
    bump: Annotated[
        Bump | None,
        typer.Option(help="Which part of the version to raise.", show_default=Bump.minor.value),
    ] = None,
    version: Annotated[
        str | None, typer.Option(help="An explicit version (vX.Y.Z) instead of --bump.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the train/validation/test assignment.")] = 0,
    split: Annotated[str, typer.Option(help="train,validation,test shares.")] = "0.8,0.1,0.1",
    license: Annotated[
        str, typer.Option(help="License id for the card (e.g. cc-by-4.0).")
    ] = "other",
    license_override: Annotated[
        bool,
        typer.Option(
            "--license-override",
            help="Keep --license even where it contradicts the terms of imported human data.",
        ),
    ] = False,
    system_prompt: Annotated[
        Path | None, typer.Option(help="Text file: the system prompt of the `messages` column.")
    ] = None,
    allow_empty: Annotated[
        bool,
        typer.Option(
            "--allow-empty",
            help="Save the version even when no dialogue passes (card, manifest, rejected/).",
        ),
    ] = False,
    preferences: Annotated[
        Path | None,
        typer.Option(
            help="YAML: also build DPO preference pairs (docs/datasets.md); calls the model."
        ),
    ] = None,
    dedup_published: Annotated[
        bool,
        typer.Option(
            "--dedup-published",
            help="Drop exact and near copies of dialogues the dataset's earlier versions hold.",
        ),
    ] = False,
    layout: LayoutOpt = ChatLayout.as_happened,
    tokenizer: TokenizerOpt = None,
    decontaminate: Annotated[
        list[Path] | None,
        typer.Option(
            "--decontaminate",
            help="Evaluation set (ESConv JSON/JSONL, ESC-Eval role cards, JSONL of texts):"
            " drop dialogues sharing a 13-word sequence with it or with a turn that is a near"
            " copy of one of its texts. Repeatable: once per set.",
        ),
    ] = None,
    decisions: Annotated[
        list[Path] | None,
        typer.Option(
            "--decisions",
            help="Human review exported by `factory view` (JSON): keeps overrule the filters,"
            " drops go to rejected/ as human_review. Repeatable.",
        ),
    ] = None,
    embeddings: EmbeddingsOpt = None,
) -> None:
    """Filter runs with a recipe and save a new dataset version (parquet splits, card, manifest)."""
    from factory.dataset.curate import curate
    from factory.dataset.preferences import PreferenceConfig
    from factory.dataset.splits import parse_fractions
    from factory.dataset.tokens import TokenCounter
    from factory.embedding_store import counts_line
    from factory.errors import ConfigError, EmptyResult
    from factory.filters.judge_backend import with_run_judge
    from factory.filters.pipeline import render_funnel
    from factory.filters.recipe import load_recipe
    from factory.settings import load_settings

    if bump is not None and version is not None:
        raise ConfigError("--bump and --version exclude each other: give one")
    chosen = load_recipe(recipe)
    counter = TokenCounter(tokenizer)
    if judge:
        chosen = with_run_judge(chosen, runs)
        if chosen.judge_off:
            print_warning(f"judge off: {chosen.judge_off}")
    try:
        result = curate(
            runs,
            chosen,
            name,
            out,
            bump=bump or Bump.minor,
            version=version,
            seed=seed,
            fractions=parse_fractions(split),
            license=license,
            license_override=license_override,
            system_prompt=_system_prompt(system_prompt),
            layout=layout,
            tokens=counter,
            preferences=load_settings(PreferenceConfig, preferences) if preferences else None,
            allow_empty=allow_empty,
            dedup_published=dedup_published,
            decontaminate_with=decontaminate,
            decisions=decisions,
            embeddings=embedding_store(
                embeddings, runs[0], print_warning if chosen.embeds else None
            )
            if runs
            else None,
            warn=print_warning,
            progress=lambda message: print(message, file=sys.stderr),
        )
    except EmptyResult as exc:
        typer.echo(exc.funnel, err=True)
        raise
    manifest = result.manifest
    typer.echo(render_funnel(result.report))
    if result.report.embeddings is not None:
        typer.echo(counts_line(result.report.embeddings.model_dump()))
    if manifest.preferences is not None:
        counts = manifest.preferences.counts.recorded()
        typer.echo("preference pairs: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    parts = ", ".join(f"{k} {v}" for k, v in manifest.splits if v)
    if not parts:
        parts = f"no dialogues: all {manifest.counts.read} dropped, see {result.path / 'rejected'}"
    typer.echo(f"saved {manifest.name} {manifest.version} ({parts}) in {result.path}")


def preferences_command(
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    version: Annotated[str, typer.Argument(help="The version to add pairs to, e.g. v0.1.0.")],
    preferences: Annotated[
        Path,
        typer.Option(
            "--preferences",
            help="YAML: how to build DPO pairs (docs/datasets.md); calls the model.",
        ),
    ],
    system_prompt: Annotated[
        Path | None,
        typer.Option(help="Text file: the system prompt the version was curated with."),
    ] = None,
    tokenizer: TokenizerOpt = None,
    root: RootOpt = DEFAULT_ROOT,
) -> None:
    """Add a `preferences` config to a version, saved as its next patch version (same data)."""
    from factory.dataset.amend import add_preferences
    from factory.dataset.preferences import PreferenceConfig
    from factory.dataset.tokens import TokenCounter
    from factory.settings import load_settings

    path, manifest = add_preferences(
        root,
        name,
        version,
        load_settings(PreferenceConfig, preferences),
        _system_prompt(system_prompt),
        TokenCounter(tokenizer),
    )
    assert manifest.preferences is not None
    counts = manifest.preferences.counts.recorded()
    typer.echo("preference pairs: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    typer.echo(f"saved {manifest.name} {manifest.version} (from {manifest.derived_from}) in {path}")


def versions_command(
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    root: RootOpt = DEFAULT_ROOT,
) -> None:
    """List a dataset's versions with their counts and dates."""
    from factory.dataset.layout import tag
    from factory.dataset.manifest import version_manifests

    found = version_manifests(root, name)
    typer.echo(
        f"{'version':<10}{'created':<27}{'train':>7}{'validation':>12}{'test':>7}{'kept/read':>12}"
        "  recipe"
    )
    for number, m in found:
        if m is None:
            typer.echo(f"{tag(number):<10}(manifest.json unreadable: the folder is damaged)")
            continue
        s, c = m.splits, m.counts
        typer.echo(
            f"{tag(number):<10}{m.created_at:<27}{s.train:>7}{s.validation:>12}{s.test:>7}"
            f"{c.kept:>6}/{c.read:<5}  {m.recipe.name} ({m.recipe.sha256})"
        )


def diff_command(
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    a: Annotated[str, typer.Argument(help="The older version, e.g. v0.1.0.")],
    b: Annotated[str, typer.Argument(help="The newer version.")],
    root: RootOpt = DEFAULT_ROOT,
) -> None:
    """Dialogues added and removed between two versions, and how every statistic moved."""
    from factory.dataset.diff import diff_versions, render_diff
    from factory.dataset.layout import version_dir

    typer.echo(render_diff(diff_versions(version_dir(root, name, a), version_dir(root, name, b))))


def export_command(
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    version: Annotated[str, typer.Argument(help="Version, e.g. v0.1.0.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="File to write.")],
    format: Annotated[
        ExportFormat, typer.Option("--format", "-f", help="messages (.jsonl) or esconv (.json).")
    ] = ExportFormat.messages,
    split: Annotated[
        str, typer.Option(metavar="<train|validation|test>", help="The split to write.")
    ] = "train",
    strategy_in_text: Annotated[
        bool,
        typer.Option(
            "--strategy-in-text", help="messages: start each assistant turn with its [Strategy]."
        ),
    ] = False,
    system_prompt: Annotated[
        Path | None, typer.Option(help="messages: a text file to use as the system prompt.")
    ] = None,
    layout: LayoutOpt = ChatLayout.as_happened,
    root: RootOpt = DEFAULT_ROOT,
) -> None:
    """Write one split of a version for training code: chat messages or ESConv JSON."""
    from factory.dataset.export import export_split
    from factory.dataset.layout import version_dir

    folder = version_dir(root, name, version)
    prompt = _system_prompt(system_prompt)
    written = export_split(folder, split, format, out, prompt, strategy_in_text, layout)
    typer.echo(f"wrote {written} dialogues ({format}) to {out}")


def push_command(
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    version: Annotated[str, typer.Argument(help="Version to publish, e.g. v0.1.0.")],
    repo_id: Annotated[str, typer.Option("--repo-id", help="Hub dataset repository, ORG/NAME.")],
    private: Annotated[
        bool, typer.Option("--private", help="Create the repository as private.")
    ] = False,
    root: RootOpt = DEFAULT_ROOT,
) -> None:
    """Upload a version to the Hugging Face Hub and tag the commit with the version."""
    from factory.dataset.hub import push
    from factory.dataset.layout import parse_version, tag, version_dir

    label = tag(parse_version(version))
    result = push(version_dir(root, name, version), repo_id, label, private)
    typer.echo(f"pushed {name} {label} to {result.url} (commit {result.commit[:12]}, tag {label})")
