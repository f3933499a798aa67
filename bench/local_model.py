"""What the embedded model (SmolLM2-135M-Instruct, llama.cpp, CPU) costs and yields per dialogue:
seconds, calls, tokens/s, end reasons and how often its output needed a retry.

    python bench/local_model.py --n 6
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import tempfile
from collections import Counter
from pathlib import Path

from factory.models import Dialogue
from factory.runs.config import load_config
from factory.runs.generate import generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=6)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    cfg = load_config(None, {"n": args.n, "seed": args.seed, "concurrency": 1})
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        report = asyncio.run(generate(cfg, out))
        dialogues = [
            Dialogue.model_validate_json(line)
            for line in (out / "dialogues.jsonl").read_text().splitlines()
        ]
    seconds = [d.generation.seconds for d in dialogues]
    calls = sum(d.generation.usage.calls for d in dialogues)
    completion = sum(d.generation.usage.completion_tokens for d in dialogues)
    # Calls beyond one per turn (+ one counselor call per supporter turn) were parse retries.
    needed = sum(len(d.turns) + sum(t.role == "supporter" for t in d.turns) for d in dialogues)
    retries = calls - needed
    print(f"# {platform.machine()} {os.cpu_count()} cpus, python {platform.python_version()}")
    print(f"dialogues                  {len(dialogues)}")
    print(
        f"seconds per dialogue       {statistics.mean(seconds):.1f} (median {statistics.median(seconds):.1f})"
    )
    print(f"turns per dialogue         {statistics.mean(len(d.turns) for d in dialogues):.1f}")
    print(
        f"calls per dialogue         {calls / len(dialogues):.1f} ({retries} of {calls} calls were retries)"
    )
    print(
        f"completion tokens/s        {completion / sum(seconds):.1f} (over whole calls, prompt evaluation included)"
    )
    print(f"wall seconds               {report.seconds:.1f}")
    print(f"end reasons                {dict(Counter(d.end_reason for d in dialogues))}")


if __name__ == "__main__":
    main()
