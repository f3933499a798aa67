"""Near-duplicate scenarios, rejected at sampling time: a scenario whose embedding is within
`threshold` cosine of an accepted one is turned away. A scenario is embedded as a short
description of the person, the problem, the feeling and the situation together: the same
situation told by a very different person is not a duplicate. Embeddings come from
factory.embeddings."""

from __future__ import annotations

from typing import Any

from factory.embeddings import Encoder
from factory.models import Scenario


def dedup_text(scenario: Scenario) -> str:
    """What is compared: who, what problem, what feeling, what happened."""
    p = scenario.persona
    who = ", ".join(
        part
        for part in (
            f"{p.age}-year-old {p.gender}",
            p.occupation,
            p.cultural_background,
            p.living_situation,
        )
        if part
    )
    return f"{who}. {scenario.problem_type}, feeling {scenario.emotion_type}. {scenario.situation}"


class EmbeddingDeduper:
    """Keeps the accepted embeddings; `admit` says whether a new one is far enough from all."""

    def __init__(self, threshold: float, encoder: Encoder) -> None:
        import numpy as np

        self.threshold = threshold
        self.encode = encoder
        self._np = np
        self._buffer = np.zeros((0, 0), dtype=np.float32)  # grows by doubling
        self._count = 0
        self.rejected = 0

    def admit(self, vector: Any) -> tuple[bool, float]:
        """(True, nearest similarity) and remember the vector, or (False, similarity)."""
        np = self._np
        vector = np.asarray(vector, dtype=np.float32).reshape(-1)
        accepted = self._buffer[: self._count]
        nearest = float((accepted @ vector).max()) if self._count else 0.0
        if nearest >= self.threshold:
            self.rejected += 1
            return False, nearest
        if self._count == len(self._buffer):
            grown = np.zeros((max(64, 2 * self._count), vector.shape[0]), dtype=np.float32)
            if self._count:
                grown[: self._count] = accepted
            self._buffer = grown
        self._buffer[self._count] = vector
        self._count += 1
        return True, nearest
