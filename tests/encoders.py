"""Stand-in sentence encoders for tests that must not load MiniLM."""

from __future__ import annotations

import hashlib

import numpy as np


def bag_of_words(texts: list[str]) -> np.ndarray:
    """Hashed word counts, L2-normalised. Same words -> cosine 1."""
    out = np.zeros((len(texts), 256), dtype=np.float32)
    for row, text in enumerate(texts):
        for word in text.lower().split():
            out[row, int(hashlib.md5(word.strip(".,").encode()).hexdigest(), 16) % 256] += 1
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)
