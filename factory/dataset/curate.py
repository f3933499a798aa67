"""`factory curate`: run a recipe over generation runs and write a new dataset version.

The version is built in a hidden temporary folder next to the others and renamed into place
at the end; anything that fails on the way removes it, so a version folder is either complete
or absent; a killed curate's temporary folder is removed by the next one (a lock keeps two
curates of one dataset apart). Every dialogue read is either kept or in rejected/ with the
verdict that dropped it, and the funnel counts each drop, repeated ids included."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from factory import __version__
from factory.dataset.card import render_card
from factory.dataset.chat_layout import ChatLayout
from factory.dataset.decontaminate import decontaminate
from factory.dataset.export import write_export
from factory.dataset.layout import (
    VERSION,
    Bump,
    ExportFormat,
    check_name,
    next_version,
    parse_version,
    tag,
    versions,
)
from factory.dataset.manifest import (
    DataFile,
    DatasetManifest,
    PreferenceInfo,
    RecipeFilter,
    RecipeInfo,
    SourceInfo,
    SplitCounts,
    VersionCounts,
)
from factory.dataset.preferences import PreferenceBuilder, PreferenceConfig, preference_schema
from factory.dataset.published import drop_published, minhash_settings
from factory.dataset.splits import assign_splits
from factory.dataset.stats import dataset_stats
from factory.dataset.table import SPLITS, write_parquet, write_split
from factory.dataset.terms import licence_conflicts
from factory.dataset.tokens import TokenCounter
from factory.dataset.training_chat import STRATEGY_CONFIG, TrainingChat, strategy_schema
from factory.errors import ConfigError, DataFileError, EmptyResult, RunDirError
from factory.filters.pipeline import (
    KEPT_FILE,
    REJECTED_FILE,
    REPORT_FILE,
    input_file,
    read_dialogues,
    render_funnel,
    run_recipe,
)
from factory.filters.recipe import Recipe
from factory.filters.report import FilterReport, FunnelStep, JudgeSummary
from factory.jsonl import json_line
from factory.models import Dialogue, Verdict
from factory.runs.run_dir import DIALOGUES_FILE, RunDir, RunManifest
from factory.secrets import scrub
from factory.staging import staging_folder, writer_lock

Warn = Callable[[str], None]
REJECTED = f"rejected/{REJECTED_FILE}"


@dataclass
class CurateResult:
    """The saved version: its folder, its manifest, and the filter report (funnel)."""

    path: Path
    manifest: DatasetManifest
    report: FilterReport


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _shown_path(path: Path) -> str:
    """The input as recorded in a version: relative to the working directory when it lies
    under it, else its last two parts (no home directories in a published manifest)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(Path(*path.resolve().parts[-2:]))


def _run_manifest(path: Path) -> RunManifest | None:
    """The manifest of the run that holds `path` (None: a plain dialogues file), secrets
    scrubbed; refuses a run that a `factory generate` is still writing. (A run that is not
    complete is curated as far as it goes; the filter pipeline warns about it.)"""
    run_dir = RunDir(path.parent)
    if run_dir.in_use():
        raise RunDirError(
            f"{run_dir.path} is still being written (a `factory generate` holds its lock):"
            " wait for it to finish or stop it, then curate"
        )
    try:
        run = run_dir.read_manifest()
    except RunDirError:
        raise DataFileError(
            f"{run_dir.manifest_path}: not a readable run manifest (is the run finished?)"
        ) from None
    if run is None:
        return None
    return RunManifest.model_validate(scrub(run.model_dump(mode="json")))


def _source(path: Path) -> SourceInfo:
    """What the version records about one input: its file's hash and its run's manifest."""
    file = input_file(path)
    run = _run_manifest(file)
    hashes: dict[str, str] = {}
    count = 0
    for _, dialogue, _ in read_dialogues(file):
        if dialogue is not None:
            count += 1
            hashes.update(dialogue.generation.prompt_hashes)
    config = run.config if run else {}
    settings: dict[str, int | str] = {
        k: config[k] for k in ("n", "seed", "scenarios", "concurrency") if config.get(k) is not None
    }
    for section in ("roleplay", "sampling"):
        if isinstance(config.get(section), dict):
            settings[section] = json.dumps(config[section], sort_keys=True)
    return SourceInfo(
        name=file.parent.name if file.name == DIALOGUES_FILE else file.name,
        path=_shown_path(path),
        sha256=sha256_file(file),
        dialogues=count,
        prompt_hashes=dict(sorted(hashes.items())),
        settings=settings,
        run=run,
    )


def _new_label(root: Path, name: str, bump: Bump, version: str | None) -> str:
    """The new version's tag; never one that exists. Folders with a version's name count
    even without a manifest (a damaged or foreign folder), so nothing lands on them."""
    existing = sorted(
        {v for v, _ in versions(root, name)}
        | {parse_version(p.name) for p in (root / name).glob("v*") if VERSION.match(p.name)}
    )
    label = tag(parse_version(version) if version else next_version(existing, bump))
    if (root / name / label).exists():
        raise RunDirError(
            f"{root / name / label} already exists: versions are never overwritten; leave out"
            f" --version to get the next one ({tag(next_version(existing, bump))})"
        )
    return label


@contextlib.contextmanager
def _building(root: Path, name: str, bump: Bump, version: str | None) -> Iterator[tuple[Path, str]]:
    """The new version's tag and a hidden temporary folder to build it in, under a lock that
    keeps a second curate of `name` out, so temporary folders a killed curate left are
    removed first. When the block fails the folder is removed (with root/name if this made
    it and it stays empty)."""
    folder = root / name
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunDirError(
            f"cannot create a folder in {folder} ({exc.strerror}): pass a writable --out"
        ) from None
    busy = f"another factory curate is writing dataset '{name}' in {root}: wait for it, then rerun"
    try:
        with writer_lock(root / f".{name}.curate-lock", busy):
            for stale in folder.glob(".v*.tmp-*"):
                shutil.rmtree(stale, ignore_errors=True)
            label = _new_label(root, name, bump, version)
            try:
                tmp = staging_folder(folder, f".{label}.tmp-")
            except OSError as exc:
                raise RunDirError(
                    f"cannot create a folder in {folder} ({exc.strerror}): pass a writable --out"
                ) from None
            try:
                yield tmp, label
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
    except BaseException:
        if created:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if empty
        raise


def _drop_duplicate_ids(
    kept: list[Dialogue], report: FilterReport, rejected: Path
) -> list[Dialogue]:
    """The first dialogue of each id stays; later ones go to rejected as `duplicate_id`,
    counted as the funnel's last step, `unique_id` (shown only when it dropped something)."""
    seen: set[str] = set()
    unique: list[Dialogue] = []
    duplicates: list[Dialogue] = []
    for dialogue in kept:
        (duplicates if dialogue.id in seen else unique).append(dialogue)
        seen.add(dialogue.id)
    if not duplicates:
        return unique
    verdict = Verdict(filter="unique_id", keep=False, reason="duplicate_id")
    with rejected.open("a", encoding="utf-8") as handle:
        for dialogue in duplicates:
            row = dialogue.model_copy(update={"verdicts": [*dialogue.verdicts, verdict]})
            handle.write(json_line(row.model_dump(mode="json", exclude_none=True)))
    report.funnel.append(
        FunnelStep(
            filter="unique_id",
            entered=len(kept),
            kept=len(unique),
            dropped=len(duplicates),
            drop_reasons={"duplicate_id": len(duplicates)},
            keep_reasons={"ok": len(unique)},
            seconds=0.0,
        )
    )
    counts = report.counts
    counts.kept = len(unique)
    counts.rejected += len(duplicates)
    counts.kept_share = round(counts.kept / counts.dialogues, 4) if counts.dialogues else 0.0
    return unique


def _filter(
    sources: list[Path], recipe: Recipe, tmp: Path, allow_empty: bool, warn: Warn | None
) -> tuple[FilterReport, list[Dialogue], int]:
    """Runs the recipe, then drops repeated ids: (report, kept, repeats dropped); rejected/
    keeps only rejected.jsonl."""
    rejected = tmp / "rejected"
    report = (
        run_recipe(sources, recipe, rejected, warn=warn)
        if warn
        else run_recipe(sources, recipe, rejected)
    )
    if report.kept == 0 and not allow_empty:
        raise EmptyResult(
            f"no dialogue of {report.read} passed recipe '{recipe.name}': nothing saved"
            " (see the funnel above; a real model behind --backend openai gives usable data;"
            " --allow-empty saves the version anyway, for the audit trail)",
            render_funnel(report),
        )
    kept = [
        Dialogue.model_validate_json(line)
        for line in (rejected / KEPT_FILE).read_text(encoding="utf-8").splitlines()
    ]
    (rejected / KEPT_FILE).unlink()
    (rejected / REPORT_FILE).unlink()
    unique = _drop_duplicate_ids(kept, report, rejected / REJECTED_FILE)
    duplicates = len(kept) - len(unique)
    if duplicates and warn:
        warn(f"{duplicates} dialogues had an id already kept (the same run twice?): dropped")
    return report, unique, duplicates


def _data_file(tmp: Path, relative: str, rows: int) -> DataFile:
    return DataFile(sha256=sha256_file(tmp / relative), rows=rows)


def _write_splits(
    tmp: Path, by_split: dict[str, list[Dialogue]], chat: TrainingChat
) -> tuple[dict[str, str], dict[str, str], dict[str, DataFile]]:
    """Each non-empty split as parquet, as the `strategy` config and as ESConv JSON:
    (split files, strategy files, data files)."""
    split_files: dict[str, str] = {}
    strategy_files: dict[str, str] = {}
    data_files: dict[str, DataFile] = {}
    for split in SPLITS:
        rows = by_split[split]
        if not rows:
            continue
        relative = split_files[split] = write_split(tmp, split, rows, chat)
        strategy = strategy_files[split] = write_parquet(
            tmp,
            STRATEGY_CONFIG,
            split,
            [chat.strategy_row(split, d) for d in rows],
            strategy_schema(),
        )
        esconv = f"esconv/{split}.json"
        write_export(rows, ExportFormat.esconv, tmp / esconv, chat.system_prompt)
        for path in (relative, strategy, esconv):
            data_files[path] = _data_file(tmp, path, len(rows))
    return split_files, strategy_files, data_files


def _write_preferences(
    tmp: Path,
    kept: list[Dialogue],
    by_split: dict[str, list[Dialogue]],
    config: PreferenceConfig,
    chat: TrainingChat,
    data_files: dict[str, DataFile],
) -> PreferenceInfo:
    """Builds preference pairs over the kept dialogues; each pair goes to its dialogue's
    split, its prompt in the version's layout. The files are added to `data_files`."""
    built = asyncio.run(PreferenceBuilder(config, chat.system_prompt).build(kept))
    split_of = {d.id: split for split in SPLITS for d in by_split[split]}
    split_files: dict[str, str] = {}
    for split in SPLITS:
        rows = [
            chat.pair_row(split, p.model_dump())
            for p in built.pairs
            if split_of[p.dialogue_id] == split
        ]
        if rows:
            relative = write_parquet(tmp, "preferences", split, rows, preference_schema())
            split_files[split] = relative
            data_files[relative] = _data_file(tmp, relative, len(rows))
    return PreferenceInfo(
        split_files=split_files,
        counts=built.counts,
        usage=built.usage,
        judge_prompt=built.judge_prompt,
        settings=PreferenceConfig.model_validate(scrub(config.model_dump(mode="json"))),
    )


def _recipe_info(recipe: Recipe) -> RecipeInfo:
    """The recipe as the version records it: name, hash, and each filter's settings."""
    return RecipeInfo(
        name=recipe.name,
        sha256=recipe.sha256,
        filters=[RecipeFilter.model_validate({"use": n, **scrub(s)}) for n, s in recipe.entries],
    )


def curate(
    sources: list[Path],
    recipe: Recipe,
    name: str,
    root: Path,
    *,
    bump: Bump = Bump.minor,
    version: str | None = None,
    seed: int = 0,
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    license: str = "other",
    license_override: bool = False,
    system_prompt: str,
    layout: ChatLayout = ChatLayout.as_happened,
    tokens: TokenCounter | None = None,
    preferences: PreferenceConfig | None = None,
    allow_empty: bool = False,
    dedup_published: bool = False,
    decontaminate_with: list[Path] | None = None,
    warn: Warn | None = None,
) -> CurateResult:
    """Filters the sources with the recipe and saves what passes as the next version of
    `name` under `root` (or as `version`): parquet splits, ESConv exports, optional
    preference pairs, rejected/, the card and the manifest. With `dedup_published`, exact
    and near copies of dialogues in the dataset's earlier versions are dropped too; with
    `decontaminate_with`, dialogues sharing a long n-gram with those evaluation sets. The
    chat columns are in `layout`, their tokens counted by `tokens` (default: the estimate)."""
    check_name(name)
    chat = TrainingChat(system_prompt, layout, tokens)
    if not sources:
        raise DataFileError("no input: pass one or more run directories or dialogues .jsonl files")
    described = [_source(p) for p in sources]
    with _building(root, name, bump, version) as (tmp, label):
        final = root / name / label
        report, kept, duplicates = _filter(sources, recipe, tmp, allow_empty, warn)
        published, decontamination = None, None
        if decontaminate_with:
            kept, decontamination = decontaminate(kept, report, tmp / REJECTED, decontaminate_with)
        if dedup_published:
            kept, published = drop_published(
                kept, report, tmp / REJECTED, root, name, minhash_settings(recipe)
            )
        if (dedup_published or decontaminate_with) and not kept and not allow_empty:
            raise EmptyResult(
                f"every dialogue that passed recipe '{recipe.name}' is already published in"
                f" an earlier version of {name} or overlaps an evaluation set: nothing"
                " saved (--allow-empty saves the version anyway)",
                render_funnel(report),
            )
        by_split = assign_splits(kept, fractions, seed)
        split_files, strategy_files, data_files = _write_splits(tmp, by_split, chat)
        preference_info = None
        if preferences is not None and kept:
            preference_info = _write_preferences(tmp, kept, by_split, preferences, chat, data_files)
        data_files[REJECTED] = _data_file(tmp, REJECTED, report.rejected)
        manifest = DatasetManifest(
            tool_version=__version__,
            name=name,
            version=label,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            license=license,
            seed=seed,
            split_fractions=list(fractions),
            splits=SplitCounts.model_validate({s: len(by_split[s]) for s in SPLITS}),
            split_files=split_files,
            recipe=_recipe_info(recipe),
            system_prompt_sha256=hashlib.sha256(system_prompt.encode()).hexdigest()[:16],
            counts=VersionCounts(
                read=report.read,
                malformed=report.malformed,
                kept=len(kept),
                rejected=report.rejected,
                duplicate_ids=duplicates,
            ),
            funnel=report.funnel,
            sources=described,
            data_files=data_files,
            stats=dataset_stats(kept),
            preferences=preference_info,
            judge=judge
            if isinstance(judge := report.summaries.get("judge"), JudgeSummary)
            else None,
            judge_off=recipe.judge_off,
            published=published,
            decontamination=decontamination,
            chat=chat.info(strategy_files),
        )
        conflicts = licence_conflicts(manifest.stats.models, license)
        if conflicts and not license_override:
            terms = "; ".join(f"{t.name}: {t.summary}" for t in conflicts)
            raise ConfigError(
                f"the kept dialogues include imported human data under other terms ({terms}):"
                f" --license {license} would contradict them; pass --license"
                f" {conflicts[0].licence}, or --license-override if you hold other rights"
            )
        (tmp / "README.md").write_text(render_card(manifest), encoding="utf-8")
        manifest.write(tmp)
        try:
            tmp.rename(final)
        except OSError:
            raise RunDirError(
                f"{final} appeared while curating (another curate?): rerun to get the next version"
            ) from None
    return CurateResult(final, manifest, report)
