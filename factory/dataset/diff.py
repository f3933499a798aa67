"""`factory diff`: dialogues added and removed between two versions, and how every statistic
moved."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from factory.dataset.layout import MANIFEST
from factory.dataset.stats import dataset_stats
from factory.dataset.table import SPLITS, read_split, split_path
from factory.models import Dialogue


def load_version(path: Path) -> tuple[dict[str, Any], dict[str, list[Dialogue]]]:
    from factory.errors import DataFileError

    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataFileError(
            f"{path / MANIFEST}: not a readable version manifest ({type(exc).__name__})"
        ) from None
    splits = {}
    for split in SPLITS:
        file = split_path(path, split)
        if file is not None:
            splits[split] = read_split(file)
    return manifest, splits


def _flatten(stats: dict[str, Any], prefix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in stats.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        elif isinstance(value, int | float):
            out[prefix + key] = float(value)
    return out


def diff_versions(a: Path, b: Path) -> dict[str, Any]:
    manifest_a, splits_a = load_version(a)
    manifest_b, splits_b = load_version(b)
    ids_a = {d.id: s for s, rows in splits_a.items() for d in rows}
    ids_b = {d.id: s for s, rows in splits_b.items() for d in rows}
    stats_a = _flatten(dataset_stats([d for rows in splits_a.values() for d in rows]))
    stats_b = _flatten(dataset_stats([d for rows in splits_b.values() for d in rows]))
    changes = {
        key: (stats_a.get(key, 0.0), stats_b.get(key, 0.0))
        for key in sorted(set(stats_a) | set(stats_b))
        if stats_a.get(key, 0.0) != stats_b.get(key, 0.0)
    }
    return {
        "from": manifest_a["version"],
        "to": manifest_b["version"],
        "added": sorted(set(ids_b) - set(ids_a)),
        "removed": sorted(set(ids_a) - set(ids_b)),
        "moved_split": sorted(i for i in set(ids_a) & set(ids_b) if ids_a[i] != ids_b[i]),
        "splits": {
            s: (manifest_a["splits"].get(s, 0), manifest_b["splits"].get(s, 0)) for s in SPLITS
        },
        "recipe": (manifest_a["recipe"]["sha256"], manifest_b["recipe"]["sha256"]),
        "changes": changes,
    }


def render_diff(result: dict[str, Any], show: int = 10) -> str:
    lines = [f"{result['from']} -> {result['to']}"]
    for split, (x, y) in result["splits"].items():
        lines.append(f"  {split:<11}{x:>7} -> {y:<7} ({y - x:+d})")
    for key in ("added", "removed", "moved_split"):
        ids = result[key]
        more = f" ... (+{len(ids) - show})" if len(ids) > show else ""
        lines.append(
            f"{key.replace('_', ' ')}: {len(ids)}"
            + (f"  {' '.join(ids[:show])}{more}" if ids else "")
        )
    recipe_a, recipe_b = result["recipe"]
    if recipe_a != recipe_b:
        lines.append(f"recipe changed: {recipe_a} -> {recipe_b}")
    lines.append(f"statistics that changed: {len(result['changes'])}")
    for key, (x, y) in result["changes"].items():
        lines.append(f"  {key:<48}{x:>10.4g} -> {y:<10.4g} ({y - x:+.4g})")
    return "\n".join(lines)
