"""Train/validation/test by seeker: dialogues that share a scenario or a persona form one
group, and a group's split is drawn from a hash of the seed and the group, so one seeker
never lands in two splits and a seeker keeps its split in every later version."""

from __future__ import annotations

import hashlib
import math
from array import array

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


class SplitAssigner:
    """Splits for a stream of dialogues, from their scenario and persona ids alone: `add`
    each dialogue's two ids in order, then `splits` gives each dialogue's split as one byte
    (an index into SPLITS), so no list of dialogues is ever held."""

    def __init__(self) -> None:
        self._nodes: dict[str, int] = {}
        self._parent = array("q")
        self._rows = array("q")  # each dialogue's scenario node

    def _node(self, key: str) -> int:
        node = self._nodes.setdefault(key, len(self._nodes))
        if node == len(self._parent):
            self._parent.append(node)
        return node

    def _find(self, x: int) -> int:
        parent = self._parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def add(self, scenario_id: str, persona_id: str) -> None:
        scenario, persona = self._node("s:" + scenario_id), self._node("p:" + persona_id)
        a, b = self._find(scenario), self._find(persona)
        if a != b:
            self._parent[max(a, b)] = min(a, b)
        self._rows.append(scenario)

    def __len__(self) -> int:
        return len(self._rows)

    def splits(self, fractions: tuple[float, float, float], seed: int) -> bytearray:
        """Each dialogue's split: its group (scenarios and personas linked through shared
        ones) is named by the group's smallest scenario key, stable when personas are
        renamed, and drawn from a hash of the seed and that name."""
        names: dict[int, str] = {}
        for key, node in self._nodes.items():
            if key.startswith("s:"):
                root = self._find(node)
                if root not in names or key < names[root]:
                    names[root] = key
        bounds = (fractions[0], fractions[0] + fractions[1])
        drawn: dict[int, int] = {}
        for root, name in names.items():
            digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
            u = int.from_bytes(digest[:8], "big") / 2**64
            drawn[root] = 0 if u < bounds[0] else 1 if u < bounds[1] else 2
        return bytearray(drawn[self._find(node)] for node in self._rows)


def assign_splits(
    dialogues: list[Dialogue], fractions: tuple[float, float, float], seed: int
) -> dict[str, list[Dialogue]]:
    assigner = SplitAssigner()
    for dialogue in dialogues:
        assigner.add(dialogue.scenario.id, dialogue.persona.id)
    out: dict[str, list[Dialogue]] = {name: [] for name in SPLITS}
    for dialogue, split in zip(dialogues, assigner.splits(fractions, seed), strict=True):
        out[SPLITS[split]].append(dialogue)
    return out
