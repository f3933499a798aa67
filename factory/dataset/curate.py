"""`factory curate`: run a recipe over generation runs and write a new dataset version.

The version is built in a hidden temporary folder next to the others and renamed into place
at the end; anything that fails on the way removes it, so a version folder is either complete
or absent; a killed curate's temporary folder is removed by the next one (a lock keeps two
curates of one dataset apart). Every dialogue read is either kept or in rejected/ with the
verdict that dropped it, and the funnel counts each drop, repeated ids included."""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from factory import __version__
from factory.dataset.card import render_card
from factory.dataset.chat_layout import ChatLayout
from factory.dataset.decisions import HumanReview, load_decisions
from factory.dataset.decontaminate import Decontaminator
from factory.dataset.layout import (
    VERSION,
    Bump,
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
from factory.dataset.preferences import PreferenceConfig, PreferenceResult
from factory.dataset.published import PublishedCopies, minhash_settings
from factory.dataset.split_writer import sha256_file
from factory.dataset.terms import licence_conflicts
from factory.dataset.tokens import TokenCounter
from factory.dataset.training_chat import TrainingChat
from factory.dataset.version_data import Check, Settler, write_data
from factory.embedding_store import EmbeddingStore, store_root
from factory.errors import ConfigError, DataFileError, EmptyResult, RunDirError
from factory.filters.pipeline import (
    KEPT_FILE,
    REJECTED_FILE,
    REPORT_FILE,
    input_file,
    render_funnel,
    run_recipe,
)
from factory.filters.recipe import Recipe
from factory.filters.report import EmotionJudgeSummary, FilterReport, JudgeSummary
from factory.models import Dialogue
from factory.progress import StepCounter
from factory.runs.run_dir import DIALOGUES_FILE, RunDir, RunManifest
from factory.secrets import scrub
from factory.staging import staging_folder, writer_lock

Warn = Callable[[str], None]
Counted = dict[Path, list[Any]]  # input file -> [dialogues read, prompt hashes seen]
REJECTED = f"rejected/{REJECTED_FILE}"


@dataclass
class CurateResult:
    """The saved version: its folder, its manifest, and the filter report (funnel)."""

    path: Path
    manifest: DatasetManifest
    report: FilterReport


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


def _source(path: Path, run: RunManifest | None, read: Counted, times: int) -> SourceInfo:
    """What the version records about one input: its file's hash, its run's manifest, and
    the dialogues the recipe read from it (`times`: how often the file was given)."""
    file = input_file(path)
    count, hashes = read.get(file, (0, {}))
    count //= times
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


def _filter(
    sources: list[Path],
    recipe: Recipe,
    tmp: Path,
    warn: Warn | None,
    progress: Warn | None,
    settler: Settler,
    read: Counted,
    embeddings: EmbeddingStore,
) -> FilterReport:
    """Runs the recipe into rejected/rejected.jsonl; what it keeps goes to `settler`, and
    what it reads is counted per file in `read`."""
    rejected = tmp / "rejected"

    def seen(path: Path, dialogue: Dialogue) -> None:
        entry = read.setdefault(path, [0, {}])
        entry[0] += 1
        entry[1].update(dialogue.generation.prompt_hashes)

    options: dict[str, Any] = {
        "progress": progress,
        "on_read": seen,
        "kept_sink": settler,
        "embeddings": embeddings,
    }
    if warn:
        options["warn"] = warn
    try:
        report = run_recipe(sources, recipe, rejected, **options)
    except BaseException:
        settler.close()  # its files go with the temporary folder
        raise
    (rejected / REPORT_FILE).unlink()
    (rejected / KEPT_FILE).unlink()  # empty: the kept dialogues went to the settler
    return report


def _nothing_kept(recipe: Recipe, report: FilterReport, settler: Settler, name: str) -> str:
    """Why a curate saved nothing: the recipe kept nothing (and no person rescued any), or the
    checks after it dropped all it kept."""
    if not settler.entered and not any(
        isinstance(c, HumanReview) and c.rescued for c in settler.checks
    ):
        return (
            f"no dialogue of {report.read} passed recipe '{recipe.name}': nothing saved"
            " (see the funnel above; a real model behind --backend openai gives usable data;"
            " --allow-empty saves the version anyway, for the audit trail)"
        )
    return (
        f"every dialogue that passed recipe '{recipe.name}' was dropped after it (human review,"
        f" an evaluation set, or already published in an earlier version of {name}): nothing"
        " saved (--allow-empty saves the version anyway)"
    )


def _preference_info(
    built: PreferenceResult, files: dict[str, str], config: PreferenceConfig
) -> PreferenceInfo:
    return PreferenceInfo(
        split_files=files,
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
    decisions: list[Path] | None = None,
    embeddings: EmbeddingStore | None = None,
    warn: Warn | None = None,
    progress: Warn | None = None,
) -> CurateResult:
    """Filters the sources with the recipe and saves what passes as the next version of
    `name` under `root` (or as `version`): parquet splits, ESConv exports, optional
    preference pairs, rejected/, the card and the manifest. With `dedup_published`, exact
    and near copies of dialogues in the dataset's earlier versions are dropped too; with
    `decontaminate_with`, dialogues sharing a long n-gram with those evaluation sets. The
    chat columns are in `layout`, their tokens counted by `tokens` (default: the estimate).
    `progress` hears counts and rates of the long steps. The embedding filters read and
    fill `embeddings` (default: the store beside the first source)."""
    check_name(name)
    chat = TrainingChat(system_prompt, layout, tokens)
    if not sources:
        raise DataFileError("no input: pass one or more run directories or dialogues .jsonl files")
    files = [input_file(p) for p in sources]
    runs = [_run_manifest(f) for f in files]  # refused before anything is written
    if embeddings is None:
        embeddings = EmbeddingStore(store_root(files[0]))
    with _building(root, name, bump, version) as (tmp, label):
        final = root / name / label
        checks: list[Check] = []
        if decisions:
            checks.append(HumanReview(load_decisions(decisions), decisions, warn))
        if decontaminate_with:
            checks.append(Decontaminator(decontaminate_with))
        if dedup_published:
            checks.append(PublishedCopies(root, name, minhash_settings(recipe), before=label))
        say = progress or (lambda message: None)
        settler = Settler(tmp, checks, fractions, seed)
        read: Counted = {}
        report = _filter(sources, recipe, tmp, warn, progress, settler, read, embeddings)
        settler.rescue(tmp / REJECTED)
        survivors = settler.finish(report, tmp / REJECTED)
        described = [
            _source(p, run, read, files.count(f))
            for p, f, run in zip(sources, files, runs, strict=True)
        ]
        if survivors.duplicates and warn:
            warn(
                f"{survivors.duplicates} dialogues had an id already kept (the same run"
                " twice?): dropped"
            )
        if not survivors.count and not allow_empty:
            raise EmptyResult(_nothing_kept(recipe, report, settler, name), render_funnel(report))
        written = write_data(
            tmp,
            survivors,
            chat,
            preferences if survivors.count else None,
            StepCounter("writing the version", say),
        )
        data_files = written.data_files
        preference_info = None
        if preferences is not None and written.preferences is not None:
            preference_info = _preference_info(
                written.preferences, written.preference_files, preferences
            )
        data_files[REJECTED] = DataFile(sha256=sha256_file(tmp / REJECTED), rows=report.rejected)
        manifest = DatasetManifest(
            tool_version=__version__,
            name=name,
            version=label,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            license=license,
            seed=seed,
            split_fractions=list(fractions),
            splits=SplitCounts.model_validate(survivors.split_counts),
            split_files=written.split_files,
            recipe=_recipe_info(recipe),
            system_prompt_sha256=hashlib.sha256(system_prompt.encode()).hexdigest()[:16],
            counts=VersionCounts(
                read=report.read,
                malformed=report.malformed,
                kept=survivors.count,
                rejected=report.rejected,
                duplicate_ids=survivors.duplicates,
            ),
            funnel=report.funnel,
            sources=described,
            data_files=data_files,
            stats=survivors.stats,
            preferences=preference_info,
            judge=judge
            if isinstance(judge := report.summaries.get("judge"), JudgeSummary)
            else None,
            judge_off=recipe.judge_off,
            emotion_judge=emotion
            if isinstance(emotion := report.summaries.get("emotion_judge"), EmotionJudgeSummary)
            else None,
            published=survivors.published,
            decontamination=survivors.decontamination,
            review=survivors.review,
            chat=chat.info(written.strategy_files),
            embedding_model=report.embeddings.model if report.embeddings else None,
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
