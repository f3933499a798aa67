"""Embeddings computed once: the default recipe on N dialogues, then `factory curate` and
`factory eval` of the same data, against one MiniLM pass over the texts the filters need.

    python bench/embeddings.py --shared ../shared/data --n 10000

The set is bench/dedup.py's: ESConv's shapes, scenarios and situations, every turn drawn
from ESConv's utterances, 7% planted exact and near copies. The steps, each timed on the
wall clock:

1. `factory filter` with the default recipe (run in this process, so the texts its
   embedding filters send to the model can be recorded); it fills the run's store.
2. `factory curate` of the run (a fresh process), the same recipe again.
3. `factory eval` of the saved version against ESConv's test split (a fresh process):
   realism embeds a sample of each side.
4. The floor: the texts step 1 sent to the model, embedded once by a freshly loaded
   MiniLM (its load time not counted, which makes the floor lower and the check harder).

Printed: each step's seconds and its embedding counts (computed now / read back from a
store), and the total of steps 1-3 over the floor. Every count comes from the commands'
own report.json files.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.dedup import contract_set
from factory.embedding_store import EmbeddingStore
from factory.embeddings import Encoder, minilm_encoder
from factory.filters.pipeline import run_recipe
from factory.filters.recipe import load_recipe
from factory.jsonl import write_jsonl


class Recording:
    """MiniLM that remembers every text it was asked to embed and the time it took."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.seconds = 0.0
        self._model: Encoder | None = None

    def __call__(self) -> Encoder:
        return self.encode

    def encode(self, texts: list[str]) -> Any:
        if self._model is None:
            self._model = minilm_encoder()
        began = time.perf_counter()
        vectors = self._model(texts)
        self.seconds += time.perf_counter() - began
        self.texts.extend(texts)
        return vectors


def factory(*args: str) -> tuple[float, str]:
    """Runs a factory command in a fresh process: its wall time and its stdout."""
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "factory", *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"factory {args[0]} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - began, done.stdout


def counts(used: dict[str, Any] | None) -> str:
    if not used:
        return "nothing embedded"
    return f"{used['computed']:,} computed, {used['reused']:,} reused"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-embeddings-"))
    run = work / "run"
    run.mkdir()
    rows, _ = contract_set(args.shared, args.n, 0.07, 3, args.seed)
    write_jsonl(
        run / "dialogues.jsonl", [d.model_dump(mode="json", exclude_none=True) for d in rows]
    )
    reference = work / "esconv" / "test.jsonl"
    reference.parent.mkdir()
    factory(
        "import", "esconv", str(args.shared / "esconv" / "esconv_test.jsonl"), "-o", str(reference)
    )
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}"
    )
    print(f"load average before: {os.getloadavg()[0]:.2f}; {args.n:,} dialogues in {work}")

    recording = Recording()
    store = EmbeddingStore(run / "embeddings", make_encoder=recording)
    began = time.perf_counter()
    report = run_recipe(run, load_recipe("default"), work / "filtered", embeddings=store)
    filter_s = time.perf_counter() - began
    filter_used = report.embeddings.model_dump() if report.embeddings else None

    curate_s, printed = factory(
        "curate", str(run), "--name", "bench", "--root", str(work / "datasets")
    )
    curate_line = next((x for x in printed.splitlines() if x.startswith("embeddings:")), "")
    version = work / "datasets" / "bench" / "v0.1.0"
    eval_s, _ = factory(
        "eval", str(version), "--reference", str(reference), "--out", str(work / "eval")
    )
    eval_report = json.loads((work / "eval" / "report.json").read_text())

    unique = list(dict.fromkeys(recording.texts))
    model = minilm_encoder()
    model(unique[:8])  # warm-up, not counted
    began = time.perf_counter()
    model(unique)
    floor_s = time.perf_counter() - began

    total = filter_s + curate_s + eval_s
    print(f"filter (default recipe): {filter_s:8.1f} s  embeddings: {counts(filter_used)}")
    print(f"  of which the model:    {recording.seconds:8.1f} s for {len(recording.texts):,} texts")
    print(f"curate:                  {curate_s:8.1f} s  {curate_line or 'embeddings: none'}")
    for used in eval_report.get("embeddings") or []:
        print(f"eval:                    {eval_s:8.1f} s  {used['store']}: {counts(used)}")
    if not eval_report.get("embeddings"):
        print(f"eval:                    {eval_s:8.1f} s  embeddings: none")
    print(
        f"floor: one MiniLM pass over the {len(unique):,} texts the filters need: {floor_s:.1f} s"
    )
    print(f"filter + curate + eval = {total:.1f} s = {total / floor_s:.2f}x the floor")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
