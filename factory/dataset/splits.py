"""Train/validation/test by seeker: dialogues that share a scenario or a persona form one
group, and a group's split is drawn from a hash of the seed and the group, so one seeker
never lands in two splits and a seeker keeps its split in every later version."""

from __future__ import annotations

import hashlib
import math

from factory.dataset.table import SPLITS
from factory.errors import ConfigError
from factory.models import Dialogue


def parse_fractions(text: str) -> tuple[float, float, float]:
    try:
        parts = tuple(float(p) for p in text.split(","))
    except ValueError:
        parts = ()
    finite = all(math.isfinite(p) for p in parts)
    if len(parts) != 3 or not finite or any(p < 0 for p in parts) or abs(sum(parts) - 1) > 1e-6:
        raise ConfigError(
            f"--split '{text}' is not three shares that add up to 1 (train,validation,test),"
            " e.g. 0.8,0.1,0.1"
        )
    return parts[0], parts[1], parts[2]


def _groups(dialogues: list[Dialogue]) -> list[str]:
    """Each dialogue's group key: the smallest scenario id among those linked to it
    through shared scenarios or personas (union-find)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    for d in dialogues:
        union("s:" + d.scenario.id, "p:" + d.persona.id)
    # Prefer a scenario key as the group's name: stable when personas are renamed.
    names: dict[str, str] = {}
    for d in dialogues:
        root = find("s:" + d.scenario.id)
        names[root] = min(names.get(root, "s:" + d.scenario.id), "s:" + d.scenario.id)
    return [names[find("s:" + d.scenario.id)] for d in dialogues]


def assign_splits(
    dialogues: list[Dialogue], fractions: tuple[float, float, float], seed: int
) -> dict[str, list[Dialogue]]:
    bounds = (fractions[0], fractions[0] + fractions[1])
    out: dict[str, list[Dialogue]] = {name: [] for name in SPLITS}
    for dialogue, group in zip(dialogues, _groups(dialogues), strict=True):
        digest = hashlib.sha256(f"{seed}:{group}".encode()).digest()
        u = int.from_bytes(digest[:8], "big") / 2**64
        split = SPLITS[0] if u < bounds[0] else SPLITS[1] if u < bounds[1] else SPLITS[2]
        out[split].append(dialogue)
    return out
