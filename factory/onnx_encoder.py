"""all-MiniLM-L6-v2 through ONNX Runtime with int8 weights: the optional faster encoder
(`FACTORY_EMBED_BACKEND=onnx-int8`, `onnx` extra). The graph is exported once from the same
local package the torch path loads (mean pooling and L2 normalisation inside it), its
weight matrices quantised to int8 per channel (activations stay float), and cached beside
the user's other caches; nothing comes from a hub.

Its vectors are close to the torch ones, not equal (cosine about 0.99 on ESConv texts), so
an embedding store files them under their own model name and never mixes the two; the
filters' thresholds were checked against it (BENCHMARKS.md, "An int8 encoder")."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from factory.cache import cache_dir
from factory.errors import MissingExtra

MAX_TOKENS = 256  # what sentence-transformers truncates this model's inputs to
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def _weights_tag(model_dir: Path) -> str:
    """A short tag of the weights file's path, size and time, so that a reinstalled or
    different model exports anew, without reading its 90 MB at every load."""
    weights = (model_dir / "model.safetensors").resolve()
    found = weights.stat()
    key = f"{weights}\t{found.st_size}\t{found.st_mtime_ns}"
    return hashlib.blake2b(key.encode(), digest_size=8).hexdigest()


def int8_model_path(model_dir: Path) -> Path:
    """The quantised graph for the model in `model_dir`, exported on first need."""
    target = cache_dir() / "onnx" / f"minilm-{_weights_tag(model_dir)}-int8.onnx"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        _export_int8(model_dir, target)
    return target


def _export_int8(model_dir: Path, target: Path) -> None:
    import logging
    import warnings

    try:
        import torch
        from transformers import AutoModel
    except ImportError as exc:
        raise MissingExtra(exc.name or "torch", "embed") from None
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:
        raise MissingExtra(exc.name or "onnx", "onnx") from None

    class Pooled(torch.nn.Module):
        """The transformer, then the mean over real tokens, then unit length."""

        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2, dim=1)

    model = Pooled(AutoModel.from_pretrained(str(model_dir)).eval())
    example = tuple(torch.ones(2, 8, dtype=torch.long) for _ in _INPUTS)
    float_path = target.with_suffix(f".{os.getpid()}.float.onnx")
    partial = target.with_suffix(f".{os.getpid()}.partial")
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the tracer's notes on shape-dependent branches
            torch.onnx.export(
                model,
                example,
                str(float_path),
                input_names=list(_INPUTS),
                output_names=["embedding"],
                dynamic_axes={name: {0: "batch", 1: "tokens"} for name in _INPUTS}
                | {"embedding": {0: "batch"}},
                opset_version=17,
                dynamo=False,
            )
        # Only the weight matrices: quantising the attention products as well moved vectors
        # by up to 0.24 in cosine on ESConv turns, this by at most 0.05.
        logging.disable(logging.WARNING)  # its advice to preprocess, on the root logger
        try:
            quantize_dynamic(
                str(float_path),
                str(partial),
                weight_type=QuantType.QInt8,
                per_channel=True,
                extra_options={"MatMulConstBOnly": True},
            )
        finally:
            logging.disable(logging.NOTSET)
        partial.replace(target)  # atomic: a concurrent run sees the whole file or none
    finally:
        float_path.unlink(missing_ok=True)
        partial.unlink(missing_ok=True)


def onnx_int8_encoder(model_dir: Path) -> Any:
    """texts -> (n, 384) float32 rows of unit length, from the int8 graph on the CPU.

    One text a run: the graph quantises its activations with one scale per run, so in a
    batch a text's vector would depend on its neighbours and their padding (cosine 0.979 at
    worst between a text alone and in a batch of 64), and a store keyed by text must get the
    same vector for the same text wherever it is computed. Alone, nothing is padded either,
    which on ESConv texts was faster than batches of 64."""
    try:
        import onnxruntime
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise MissingExtra(exc.name or "onnxruntime", "onnx") from None
    import numpy as np

    path = int8_model_path(model_dir)
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(MAX_TOKENS)

    def encode(texts: list[str]) -> Any:
        out = np.zeros((len(texts), 384), dtype=np.float32)
        for row, encoded in enumerate(tokenizer.encode_batch(list(texts))):
            ids = np.array([encoded.ids], dtype=np.int64)
            feeds = {
                "input_ids": ids,
                "attention_mask": np.ones_like(ids),
                "token_type_ids": np.zeros_like(ids),
            }
            out[row] = session.run(None, feeds)[0][0]
        return out

    return encode
