"""`factory curate`: run a recipe over generation runs and write a new dataset version.

The version is built in a hidden temporary folder next to the others and renamed into place
at the end; anything that fails on the way removes it, so a version folder is either complete
or absent."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from factory import __version__
from factory.dataset.card import render_card
from factory.dataset.export import write_export
from factory.dataset.layout import (
    MANIFEST,
    VERSION,
    Bump,
    check_name,
    next_version,
    parse_version,
    tag,
    versions,
)
from factory.dataset.preferences import PreferenceBuilder, PreferenceConfig, preference_schema
from factory.dataset.splits import assign_splits
from factory.dataset.stats import dataset_stats
from factory.dataset.table import SPLITS, write_parquet, write_split
from factory.errors import DataFileError, FactoryError, RunDirError
from factory.filters.pipeline import input_file, read_dialogues, render_funnel, run_recipe
from factory.filters.recipe import Recipe
from factory.filters.report import FilterReport
from factory.models import Dialogue, Verdict
from factory.runs.run_dir import LOCK_FILE, MANIFEST_FILE
from factory.secrets import scrub


class EmptyResult(FactoryError):
    """Nothing survived the recipe; carries the funnel so the CLI can show why."""

    def __init__(self, message: str, funnel: str) -> None:
        super().__init__(message)
        self.funnel = funnel


@dataclass
class CurateResult:
    name: str
    version: str
    path: Path
    report: FilterReport
    splits: dict[str, int]
    preferences: dict[str, Any] | None = None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_not_running(run_dir: Path) -> None:
    """Refuses a run that a `factory generate` still holds (its lock is taken)."""
    import fcntl

    lock = run_dir / LOCK_FILE
    if lock.is_file():
        with lock.open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise RunDirError(
                    f"{run_dir} is still being written (a `factory generate` holds its lock):"
                    " wait for it to finish or stop it, then curate"
                ) from None
            fcntl.flock(handle, fcntl.LOCK_UN)


def _shown_path(path: Path) -> str:
    """The input as recorded in a version: relative to the working directory when it lies
    under it, else its last two parts (no home directories in a published manifest)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(Path(*path.resolve().parts[-2:]))


def _source(path: Path, warn: Any) -> dict[str, Any]:
    """What the version records about one input: its file's hash and its run's manifest."""
    file = input_file(path)
    _check_not_running(file.parent)
    run: dict[str, Any] | None = None
    manifest_path = file.parent / MANIFEST_FILE
    if manifest_path.is_file():
        try:
            run = scrub(json.loads(manifest_path.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError, UnicodeDecodeError):
            raise DataFileError(
                f"{manifest_path}: not a readable run manifest (is the run finished?)"
            ) from None
    hashes: dict[str, str] = {}
    count = 0
    for _, dialogue, _ in read_dialogues(file):
        if dialogue is not None:
            count += 1
            hashes.update(dialogue.generation.prompt_hashes)
    if run and run.get("status") not in ("complete", None) and warn:
        warn(f"{path}: the run's status is '{run.get('status')}': curating the dialogues it has")
    config = (run or {}).get("config") or {}
    settings = {
        k: config[k]
        for k in ("n", "seed", "scenarios", "concurrency")
        if k in config and config[k] is not None
    }
    for section in ("roleplay", "sampling", "scenario", "persona"):
        if isinstance(config.get(section), dict):
            settings[section] = json.dumps(config[section], sort_keys=True)
    return {
        "name": file.parent.name if file.name == "dialogues.jsonl" else file.name,
        "path": _shown_path(path),
        "sha256": sha256_file(file),
        "dialogues": count,
        "prompt_hashes": dict(sorted(hashes.items())),
        "settings": settings,
        "run": run,
    }


def _drop_duplicate_ids(kept: list[Dialogue], rejected: Path) -> tuple[list[Dialogue], int]:
    """The first dialogue of each id stays; later ones go to rejected as `duplicate_id`."""
    seen: set[str] = set()
    unique: list[Dialogue] = []
    duplicates: list[Dialogue] = []
    for dialogue in kept:
        (duplicates if dialogue.id in seen else unique).append(dialogue)
        seen.add(dialogue.id)
    if duplicates:
        with rejected.open("a", encoding="utf-8") as handle:
            for dialogue in duplicates:
                verdict = Verdict(filter="curate", keep=False, reason="duplicate_id")
                row = dialogue.model_copy(update={"verdicts": [*dialogue.verdicts, verdict]})
                handle.write(
                    json.dumps(row.model_dump(mode="json", exclude_none=True), ensure_ascii=False)
                    + "\n"
                )
    return unique, len(duplicates)


def curate(
    sources: list[Path],
    recipe: Recipe,
    name: str,
    root: Path,
    *,
    bump: Bump = "minor",
    version: str | None = None,
    seed: int = 0,
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    license: str = "other",
    system_prompt: str,
    preferences: PreferenceConfig | None = None,
    allow_empty: bool = False,
    warn: Any = None,
) -> CurateResult:
    check_name(name)
    if not sources:
        raise DataFileError("no input: pass one or more run directories or dialogues .jsonl files")
    described = [_source(p, warn) for p in sources]
    # Folders with a version's name count even without a manifest (a damaged or foreign
    # folder), so the next version never lands on them.
    existing = sorted(
        {v for v, _ in versions(root, name)}
        | {parse_version(p.name) for p in (root / name).glob("v*") if VERSION.match(p.name)}
    )
    number = parse_version(version) if version else next_version(existing, bump)
    label = tag(number)
    final = root / name / label
    if final.exists():
        raise RunDirError(
            f"{final} already exists: versions are never overwritten; leave out --version to get"
            f" the next one ({tag(next_version(existing, bump))})"
        )
    created_parent = not (root / name).exists()
    try:
        (root / name).mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{label}.tmp-", dir=root / name))
    except OSError as exc:
        raise RunDirError(
            f"cannot create a folder in {root / name} ({exc.strerror}): pass a writable --out"
        ) from None
    try:
        report = run_recipe(sources, recipe, tmp / "rejected", **({"warn": warn} if warn else {}))
        if report.kept == 0 and not allow_empty:
            raise EmptyResult(
                f"no dialogue of {report.read} passed recipe '{recipe.name}': nothing saved"
                " (see the funnel above; a real model behind --backend openai gives usable data;"
                " --allow-empty saves the version anyway, for the audit trail)",
                render_funnel(report),
            )
        kept_file = tmp / "rejected" / "kept.jsonl"
        kept = [
            Dialogue.model_validate_json(line)
            for line in kept_file.read_text(encoding="utf-8").splitlines()
        ]
        kept_file.unlink()
        (tmp / "rejected" / "report.json").unlink()
        kept, duplicates = _drop_duplicate_ids(kept, tmp / "rejected" / "rejected.jsonl")
        if duplicates and warn:
            warn(f"{duplicates} dialogues had an id already kept (the same run twice?): dropped")
        by_split = assign_splits(kept, fractions, seed)
        data_files: dict[str, dict[str, Any]] = {}
        split_files: dict[str, str] = {}
        for split in SPLITS:
            if not by_split[split]:
                continue
            relative = write_split(tmp, split, by_split[split], system_prompt)
            split_files[split] = relative
            esconv = f"esconv/{split}.json"
            write_export(by_split[split], "esconv", tmp / esconv, system_prompt)
            for path in (relative, esconv):
                data_files[path] = {"sha256": sha256_file(tmp / path), "rows": len(by_split[split])}
        preference_info: dict[str, Any] | None = None
        preference_files: dict[str, str] = {}
        if preferences is not None and kept:
            built = asyncio.run(PreferenceBuilder(preferences, system_prompt).build(kept))
            split_of = {d.id: split for split in SPLITS for d in by_split[split]}
            for split in SPLITS:
                rows = [p for p in built.pairs if split_of[p["dialogue_id"]] == split]
                if rows:
                    relative = write_parquet(tmp, "preferences", split, rows, preference_schema())
                    preference_files[split] = relative
                    data_files[relative] = {
                        "sha256": sha256_file(tmp / relative),
                        "rows": len(rows),
                    }
            preference_info = {
                "split_files": preference_files,
                "counts": dict(sorted(built.counts.items())),
                "usage": built.usage.model_dump(),
                "judge_prompt": built.judge_prompt,
                "settings": scrub(preferences.model_dump(mode="json")),
            }
        data_files["rejected/rejected.jsonl"] = {
            "sha256": sha256_file(tmp / "rejected" / "rejected.jsonl"),
            "rows": report.rejected + duplicates,
        }
        stats = dataset_stats(kept)
        manifest = {
            "tool": "esc-factory",
            "tool_version": __version__,
            "name": name,
            "version": label,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "license": license,
            "seed": seed,
            "split_fractions": list(fractions),
            "splits": {split: len(by_split[split]) for split in SPLITS},
            "split_files": split_files,
            "recipe": {
                "name": recipe.name,
                "sha256": recipe.sha256,
                "filters": [{"use": n, **scrub(s)} for n, s in recipe.entries],
            },
            "system_prompt_sha256": hashlib.sha256(system_prompt.encode()).hexdigest()[:16],
            "counts": {
                "read": report.read,
                "malformed": report.malformed,
                "kept": len(kept),
                "rejected": report.rejected + duplicates,
                "duplicate_ids": duplicates,
            },
            "funnel": [step.model_dump(by_alias=True) for step in report.funnel],
            "sources": described,
            "data_files": data_files,
            "stats": stats,
            "preferences": preference_info,
        }
        (tmp / "README.md").write_text(render_card(manifest, stats), encoding="utf-8")
        (tmp / MANIFEST).write_text(
            json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        try:
            tmp.rename(final)
        except OSError:
            raise RunDirError(
                f"{final} appeared while curating (another curate?): rerun to get the next version"
            ) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if created_parent:
            with contextlib.suppress(OSError):
                (root / name).rmdir()  # only if empty
        raise
    return CurateResult(
        name, label, final, report, {s: len(by_split[s]) for s in SPLITS}, preference_info
    )
