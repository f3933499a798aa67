"""`factory diff`: dialogues added and removed between two versions, and how every statistic
moved."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from factory.dataset.manifest import read_manifest
from factory.dataset.table import SPLITS, split_ids, split_path


@dataclass
class VersionDiff:
    """What changed from one version to the next: ids, split sizes, recipe, statistics."""

    old: str
    new: str
    added: list[str]
    removed: list[str]
    moved_split: list[str]
    splits: dict[str, tuple[int, int]]
    recipe: tuple[str, str]
    changes: dict[str, tuple[float, float]]


def split_ids_of(path: Path) -> dict[str, str]:
    """Each dialogue id of a version and its split (only the id column is read)."""
    out: dict[str, str] = {}
    for split in SPLITS:
        file = split_path(path, split)
        if file is not None:
            out.update(dict.fromkeys(split_ids(file), split))
    return out


def diff_versions(a: Path, b: Path) -> VersionDiff:
    """What changed between two versions: ids added, removed or moved between splits (the
    id columns are read), and the statistics each manifest records."""
    manifest_a, manifest_b = read_manifest(a), read_manifest(b)
    ids_a, ids_b = split_ids_of(a), split_ids_of(b)
    stats_a, stats_b = manifest_a.stats.numbers(), manifest_b.stats.numbers()
    sizes_a, sizes_b = manifest_a.splits.model_dump(), manifest_b.splits.model_dump()
    return VersionDiff(
        old=manifest_a.version,
        new=manifest_b.version,
        added=sorted(set(ids_b) - set(ids_a)),
        removed=sorted(set(ids_a) - set(ids_b)),
        moved_split=sorted(i for i in set(ids_a) & set(ids_b) if ids_a[i] != ids_b[i]),
        splits={s: (sizes_a[s], sizes_b[s]) for s in SPLITS},
        recipe=(manifest_a.recipe.sha256, manifest_b.recipe.sha256),
        changes={
            key: (stats_a.get(key, 0.0), stats_b.get(key, 0.0))
            for key in sorted(set(stats_a) | set(stats_b))
            if stats_a.get(key, 0.0) != stats_b.get(key, 0.0)
        },
    )


def render_diff(result: VersionDiff, show: int = 10) -> str:
    lines = [f"{result.old} -> {result.new}"]
    for split, (before, after) in result.splits.items():
        lines.append(f"  {split:<11}{before:>7} -> {after:<7} ({after - before:+d})")
    for label, ids in (
        ("added", result.added),
        ("removed", result.removed),
        ("moved split", result.moved_split),
    ):
        more = f" ... (+{len(ids) - show})" if len(ids) > show else ""
        lines.append(f"{label}: {len(ids)}" + (f"  {' '.join(ids[:show])}{more}" if ids else ""))
    recipe_a, recipe_b = result.recipe
    if recipe_a != recipe_b:
        lines.append(f"recipe changed: {recipe_a} -> {recipe_b}")
    lines.append(f"statistics that changed: {len(result.changes)}")
    for key, (x, y) in result.changes.items():
        lines.append(f"  {key:<48}{x:>10.4g} -> {y:<10.4g} ({y - x:+.4g})")
    return "\n".join(lines)
