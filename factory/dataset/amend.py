"""`factory preferences`: add a `preferences` config to an existing version, saved as a new
patch version that holds the same data files (hard links where the file system allows).

The earlier version is never changed. The dialogues are read split by split in batches from
the version's parquet, so memory stays bounded by the batch and the pairs; the token lengths
of every config are counted again with the counter given, so the card states one method."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from factory import __version__
from factory.dataset.card import render_card
from factory.dataset.chat_layout import ChatLayout
from factory.dataset.curate import _building
from factory.dataset.layout import VERSION, Bump, parse_version, tag, version_dir, versions
from factory.dataset.manifest import DataFile, DatasetManifest, PreferenceInfo, read_manifest
from factory.dataset.preferences import (
    PreferenceBuilder,
    PreferenceConfig,
    PreferenceCounts,
    preference_schema,
)
from factory.dataset.table import SPLITS, from_row, write_parquet
from factory.dataset.tokens import TokenCounter
from factory.dataset.training_chat import TrainingChat
from factory.dataset.version_data import data_file
from factory.errors import ConfigError
from factory.models import Usage
from factory.secrets import scrub

BATCH = 512


def _next_patch(root: Path, name: str, source: str) -> str:
    """The first free patch version after `source` (v0.2.0 -> v0.2.1, or v0.2.2 if taken)."""
    major, minor, patch = parse_version(source)
    taken = {v for v, _ in versions(root, name)} | {
        parse_version(p.name) for p in (root / name).glob("v*") if VERSION.match(p.name)
    }
    patch += 1
    while (major, minor, patch) in taken:
        patch += 1
    return tag((major, minor, patch))


def _link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _batches(path: Path, columns: list[str] | None = None) -> Any:
    import pyarrow.parquet as pq

    for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH, columns=columns):
        yield batch.to_pylist()


def _count_config(chat: TrainingChat, folder: Path, files: dict[str, str], strategy: bool) -> None:
    """Tallies the stored (already laid out) conversations of one config."""
    tally = chat.strategy_tokens if strategy else chat.tokens
    for split, relative in files.items():
        for rows in _batches(folder / relative, ["messages"]):
            for row in rows:
                tally.add(split, chat.counter.count(row["messages"]))


def add_preferences(
    root: Path,
    name: str,
    version: str,
    config: PreferenceConfig,
    system_prompt: str,
    counter: TokenCounter | None = None,
) -> tuple[Path, DatasetManifest]:
    """Builds preference pairs over every dialogue of `name` `version` and saves them, with
    the version's data, as its next free patch version. `system_prompt` must be the one the
    version was curated with (its hash is checked), so pairs and `messages` agree."""
    source = version_dir(root, name, version)
    old = read_manifest(source)
    if hashlib.sha256(system_prompt.encode()).hexdigest()[:16] != old.system_prompt_sha256:
        raise ConfigError(
            f"{name} {old.version} was curated with another system prompt: pass that file"
            " with --system-prompt, so the pairs' prompts match the version's `messages`"
        )
    layout = old.chat.layout if old.chat else ChatLayout.as_happened
    chat = TrainingChat(system_prompt, layout, counter)
    label = _next_patch(root, name, old.version)
    keep = {
        rel: entry
        for rel, entry in old.data_files.items()
        if not (old.preferences and rel in old.preferences.split_files.values())
    }
    with _building(root, name, Bump.patch, label) as (tmp, _):
        for relative in keep:
            _link_or_copy(source / relative, tmp / relative)
        builder = PreferenceBuilder(config, system_prompt)
        counts, usage, judge_prompt = PreferenceCounts(), Usage(), ""
        split_files: dict[str, str] = {}
        data_files: dict[str, DataFile] = dict(keep)
        for split in SPLITS:
            stored = old.split_files.get(split)
            if not stored:
                continue
            rows: list[dict[str, Any]] = []
            for batch in _batches(source / stored):
                built = asyncio.run(builder.build([from_row(row) for row in batch]))
                for name_, value in built.counts.model_dump().items():
                    setattr(counts, name_, getattr(counts, name_) + value)
                usage.add(built.usage)
                judge_prompt = built.judge_prompt
                rows += [chat.pair_row(split, p.model_dump()) for p in built.pairs]
            if rows:
                path = write_parquet(tmp, "preferences", split, rows, preference_schema())
                split_files[split] = path
                data_files[path] = data_file(tmp, path, len(rows))
        counts.pairs = sum(f.rows for p, f in data_files.items() if p in split_files.values())
        _count_config(chat, source, old.split_files, strategy=False)
        if old.chat:
            _count_config(chat, source, old.chat.strategy_files, strategy=True)
            chat.changes = old.chat.changes
        manifest = old.model_copy(
            update={
                "tool_version": __version__,
                "version": label,
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "data_files": dict(sorted(data_files.items())),
                "preferences": PreferenceInfo(
                    split_files=split_files,
                    counts=counts,
                    usage=usage,
                    judge_prompt=judge_prompt,
                    settings=PreferenceConfig.model_validate(scrub(config.model_dump(mode="json"))),
                ),
                "chat": chat.info(old.chat.strategy_files if old.chat else {}),
                "derived_from": old.version,
            }
        )
        (tmp / "README.md").write_text(render_card(manifest), encoding="utf-8")
        manifest.write(tmp)
        tmp.rename(root / name / label)
    return root / name / label, manifest
