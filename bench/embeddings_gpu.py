"""MiniLM through the embedding store on whatever device `embedding_device()` picks (CUDA
when torch sees a GPU): throughput, and how far its vectors are from the CPU's.

    # on the CPU: embed the texts and keep the vectors
    FACTORY_EMBED_DEVICE=cpu python bench/embeddings_gpu.py --save-vectors cpu.npy
    # on a GPU machine: the same texts, compared with those vectors
    python bench/embeddings_gpu.py --cpu-vectors cpu.npy

The texts are 100-word windows of this repository's own documentation (no research data),
`--n` of them. Printed: the device, texts per second (model loaded and warmed up first),
the largest absolute difference from the CPU's vectors and the lowest cosine between the
two, and a store round trip (a second store over the same folder computes nothing).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from factory.embedding_store import EmbeddingStore
from factory.embeddings import embedding_device, minilm_encoder

ROOT = Path(__file__).resolve().parents[1]


def texts(n: int, words: int = 100) -> list[str]:
    """n windows of `words` words from README.md and docs/*.md, in a fixed order."""
    pool: list[str] = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        pool += path.read_text(encoding="utf-8").split()
    step = 37  # windows overlap, each starts 37 words after the last
    out = [" ".join(pool[i : i + words]) for i in range(0, len(pool) - words, step)]
    while len(out) < n:
        out += [f"{t} ({len(out)})" for t in out[: n - len(out)]]
    return out[:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--save-vectors", type=Path)
    parser.add_argument("--cpu-vectors", type=Path)
    args = parser.parse_args()
    sample = texts(args.n)
    device = embedding_device()
    model = minilm_encoder()
    model(sample[:64])  # load and warm up
    began = time.perf_counter()
    vectors = np.asarray(model(sample), dtype=np.float32)
    seconds = time.perf_counter() - began
    print(
        f"device {device}: {len(sample):,} texts of 100 words in {seconds:.2f} s"
        f" = {len(sample) / seconds:,.0f} texts/s"
    )
    if args.save_vectors:
        np.save(args.save_vectors, vectors)
        print(f"saved {args.save_vectors}")
    if args.cpu_vectors:
        cpu = np.load(args.cpu_vectors)
        cosine = (cpu * vectors).sum(axis=1)
        print(
            f"vs the CPU: max |difference| {np.abs(cpu - vectors).max():.2e},"
            f" lowest cosine {cosine.min():.7f}"
        )
    with tempfile.TemporaryDirectory() as folder:
        store = EmbeddingStore(Path(folder), make_encoder=lambda: model)
        store.embed(sample, "bench")
        store.flush()
        again = EmbeddingStore(Path(folder), make_encoder=lambda: model)
        began = time.perf_counter()
        read = again.embed(sample, "bench")
        read_s = time.perf_counter() - began
        same = bool(np.array_equal(read, store.embed(sample, "bench")))
        print(
            f"store: {again.summary()['computed']} computed, {again.summary()['reused']:,}"
            f" read back in {read_s:.3f} s, identical to what was stored: {same}"
        )


if __name__ == "__main__":
    main()
