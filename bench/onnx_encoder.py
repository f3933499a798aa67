"""The int8 ONNX encoder against the torch one it stands in for: speed on the same texts, how
far its vectors move, and what that does to the calibrated filters.

    python bench/onnx_encoder.py --shared ../shared/data

1. The default recipe on ESConv valid + test (imported), once per encoder, each with a fresh
   in-memory store: the dialogues kept, the drops per filter and every dialogue whose fate
   differs. The texts the torch run sent to the model are recorded.
2. Those texts embedded by both encoders (each loaded and warmed first): seconds and
   texts/s side by side, and the cosine between each text's two vectors.
3. emotion_consistency's evidence on all of ESConv (1,300 dialogues) with each encoder:
   at the shipped weights and threshold, the real dialogues flagged and the planted
   emotion-family swaps caught (seed 0), as BENCHMARKS.md's "Emotion consistency" counts them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from factory.embedding_store import EmbeddingStore
from factory.embeddings import Encoder, minilm_encoder
from factory.filters.emotion_consistency import (
    EmotionConsistencySettings,
    FamilyEvidence,
    emotion_families,
    family_probabilities,
    load_lexicon,
)
from factory.filters.pipeline import run_recipe
from factory.filters.recipe import load_recipe
from factory.importers.esconv import import_esconv
from factory.jsonl import write_jsonl

BACKENDS = ("torch", "onnx-int8")


class Recording:
    def __init__(self, encode: Encoder) -> None:
        self.encode = encode
        self.texts: list[str] = []

    def __call__(self, texts: list[str]) -> Any:
        self.texts.extend(texts)
        return self.encode(texts)


def fates(out: Path) -> dict[str, str]:
    """Dialogue id -> 'kept' or the filter that dropped it."""
    result = {json.loads(line)["id"]: "kept" for line in (out / "kept.jsonl").open()}
    for line in (out / "rejected.jsonl").open():
        row = json.loads(line)
        dropped = [v["filter"] for v in row.get("verdicts", []) if not v["keep"]]
        result[row["id"]] = dropped[-1] if dropped else "malformed"
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"# {platform.machine()} {os.cpu_count()} cpus, python {platform.python_version()}")
    esconv = args.shared / "esconv"
    encoders = {}
    for backend in BACKENDS:
        began = time.perf_counter()
        encoders[backend] = minilm_encoder(backend=backend)
        encoders[backend](["warm up"] * 8)
        print(f"{backend}: loaded in {time.perf_counter() - began:.1f}s (int8: export if new)")

    print("\n## 1. the default recipe on ESConv valid + test")
    dialogues, _ = import_esconv([esconv / f"esconv_{s}.jsonl" for s in ("valid", "test")])
    recipe = load_recipe("default")
    results: dict[str, dict[str, str]] = {}
    recorded: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "esconv.jsonl"
        write_jsonl(source, (d.model_dump(exclude_none=True) for d in dialogues))
        for backend in BACKENDS:
            recording = Recording(encoders[backend])
            store = EmbeddingStore(None, model=backend, make_encoder=lambda r=recording: r)
            began = time.perf_counter()
            run_recipe(source, recipe, Path(tmp) / backend, warn=lambda _: None, embeddings=store)
            results[backend] = fates(Path(tmp) / backend)
            kept = sum(f == "kept" for f in results[backend].values())
            drops = Counter(f for f in results[backend].values() if f != "kept")
            print(
                f"{backend}: {time.perf_counter() - began:.1f}s, kept {kept}/{len(dialogues)}"
                f" ({100 * kept / len(dialogues):.1f}%); drops {dict(sorted(drops.items()))}"
            )
            if backend == "torch":
                recorded = recording.texts
    torch_fates, int8_fates = results["torch"], results["onnx-int8"]
    differ = [
        (i, torch_fates[i], int8_fates[i]) for i in torch_fates if torch_fates[i] != int8_fates[i]
    ]
    print(f"fates that differ: {len(differ)}/{len(torch_fates)}")
    for dialogue_id, before, after in differ:
        print(f"  {dialogue_id}: torch {before}, int8 {after}")

    print(f"\n## 2. the {len(recorded)} texts the torch run embedded, by both encoders")
    vectors, seconds = {}, {}
    for backend in BACKENDS:
        began = time.perf_counter()
        vectors[backend] = np.asarray(encoders[backend](recorded), dtype=np.float32)
        seconds[backend] = time.perf_counter() - began
        print(
            f"{backend}: {seconds[backend]:.1f}s ({len(recorded) / seconds[backend]:.0f} texts/s)"
        )
    print(f"int8 speed-up: {seconds['torch'] / seconds['onnx-int8']:.2f}x")
    cosine = (vectors["torch"] * vectors["onnx-int8"]).sum(axis=1)
    print(
        f"cosine torch/int8: mean {cosine.mean():.4f}, 1st percentile"
        f" {np.quantile(cosine, 0.01):.4f}, min {cosine.min():.4f}"
    )

    print("\n## 3. emotion_consistency's evidence on all of ESConv, shipped weights and threshold")
    family_of = emotion_families()
    settings = EmotionConsistencySettings()
    every, _ = import_esconv([esconv / f"esconv_{s}.jsonl" for s in ("train", "valid", "test")])
    every = [d for d in every if d.scenario.emotion_type in family_of]
    rng = np.random.default_rng(args.seed)
    for backend in BACKENDS:
        evidence = FamilyEvidence(load_lexicon(), encoders[backend])
        families = evidence.families
        labels = np.array([families.index(family_of[d.scenario.emotion_type]) for d in every])
        if backend == BACKENDS[0]:
            swaps = np.array(
                [rng.choice([f for f in range(len(families)) if f != y]) for y in labels]
            )
        found = evidence(every)
        weights = settings.weights.vector()
        p = np.array([family_probabilities(signals, weights) for signals in found.signals])
        rows = np.arange(len(every))
        floor = settings.min_family_probability
        print(
            f"{backend}: real flagged {100 * (p[rows, labels] < floor).mean():.1f}%,"
            f" swaps caught {100 * (p[rows, swaps] < floor).mean():.1f}%"
            f" (min_family_probability {floor})"
        )


if __name__ == "__main__":
    main()
