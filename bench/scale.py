"""Curation at scale: peak memory and time of `factory filter`, `factory curate` and
`factory eval` on N contract dialogues (ESConv's shapes, turns drawn at random from its
utterances, a tenth planted exact or near copies), each command in a fresh process.

    python bench/scale.py --shared ../shared/data --n 10000 100000 1000000
    python bench/scale.py --shared ../shared/data --n 10000 --code-root /tmp/old-checkout

The recipe is the cheap one the issue names (structure, exact and MinHash dedup); eval runs
without a reference (so no realism classifier). Peak RSS is the process's own maximum
resident set from wait4; `--code-root` runs another checkout's code on the same files, so
two versions are measured side by side in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

RECIPE = """name: scale-bench
filters:
  - use: structure
  - use: exact_dedup
  - use: minhash_dedup
"""


def contract_lines(shared: Path, n: int, copies: float, seed: int) -> Iterator[str]:
    """N dialogues as JSON lines, streamed: each copies an ESConv dialogue's shape and labels
    and draws every turn's text from ESConv's utterances of that role; after each distinct
    dialogue, with probability `copies`, an exact (case changed) or near (3 words replaced)
    copy of a recent one."""
    from factory.importers.esconv import import_esconv

    esconv, _ = import_esconv(
        [shared / "esconv" / f"esconv_{s}.jsonl" for s in ("train", "valid", "test")]
    )
    rng = random.Random(seed)
    texts = {
        role: [t.text for d in esconv for t in d.turns if t.role == role and t.text.strip()]
        for role in ("seeker", "supporter")
    }
    templates = [d.model_dump(mode="json", exclude_none=True) for d in esconv]
    recent: list[dict[str, Any]] = []
    made = 0
    distinct = 0
    while made < n:
        if recent and rng.random() < copies:
            source = rng.choice(recent)
            row = json.loads(json.dumps(source))
            if rng.random() < 0.5:
                for turn in row["turns"]:
                    turn["text"] = turn["text"].upper()
                row["id"] = f"exact{made}-of-{source['id']}"
            else:
                for _ in range(3):
                    turn = rng.choice(row["turns"])
                    words = turn["text"].split() or ["so"]
                    words[rng.randrange(len(words))] = rng.choice(["really", "maybe", "just"])
                    turn["text"] = " ".join(words)
                row["id"] = f"near{made}-of-{source['id']}"
        else:
            row = dict(templates[distinct % len(templates)])
            row["turns"] = [{**t, "text": rng.choice(texts[t["role"]])} for t in row["turns"]]
            row["id"] = f"u{distinct}"
            distinct += 1
            recent.append(row)
            if len(recent) > 1000:
                recent.pop(rng.randrange(len(recent)))
        made += 1
        yield json.dumps(row, ensure_ascii=False) + "\n"


def run(args: list[str], code_root: Path) -> dict[str, float]:
    """One command in its own process: wall seconds and peak RSS in MB."""
    env = {**os.environ, "PYTHONPATH": str(code_root)}
    began = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "factory", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - began
    err = proc.stderr.read().decode() if proc.stderr else ""
    if status != 0:
        raise SystemExit(f"factory {' '.join(args)} failed:\n{err[-2000:]}")
    return {"rss_mb": usage.ru_maxrss / 1024, "seconds": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("--n", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--copies", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--code-root", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--scratch", type=Path, default=None, help="folder for the big files")
    parser.add_argument("--steps", default="filter,curate,eval")
    args = parser.parse_args()
    print(
        f"# {platform.machine()} {os.cpu_count()} cpus, python {platform.python_version()},"
        f" load {os.getloadavg()[0]:.1f}, code {args.code_root}"
    )
    steps = args.steps.split(",")
    with tempfile.TemporaryDirectory(dir=args.scratch) as tmp_name:
        tmp = Path(tmp_name)
        recipe = tmp / "recipe.yaml"
        recipe.write_text(RECIPE)
        for n in args.n:
            data = tmp / f"contract-{n}.jsonl"
            began = time.perf_counter()
            with data.open("w", encoding="utf-8") as handle:
                handle.writelines(contract_lines(args.shared, n, args.copies, args.seed))
            size = data.stat().st_size / 2**20
            print(f"n={n}: {size:.0f} MiB written in {time.perf_counter() - began:.0f}s")
            results: dict[str, dict[str, float]] = {}
            if "filter" in steps:
                results["filter"] = run(
                    ["filter", str(data), "--recipe", str(recipe), "--out", str(tmp / f"f{n}")],
                    args.code_root,
                )
            if "curate" in steps:
                results["curate"] = run(
                    [
                        "curate",
                        str(data),
                        "--recipe",
                        str(recipe),
                        "--name",
                        f"s{n}",
                        "--root",
                        str(tmp / "datasets"),
                    ],
                    args.code_root,
                )
            if "eval" in steps:
                results["eval"] = run(
                    ["eval", str(data), "--out", str(tmp / f"e{n}")], args.code_root
                )
            for step, r in results.items():
                print(
                    f"  {step:<7} {r['seconds']:8.1f}s  peak RSS {r['rss_mb']:7.0f} MB"
                    f"  ({1e6 * r['seconds'] / n:.0f} us/dialogue)"
                )
            data.unlink()
            for left in (tmp / f"f{n}", tmp / "datasets" / f"s{n}", tmp / f"e{n}"):
                shutil.rmtree(left, ignore_errors=True)
            sys.stdout.flush()


if __name__ == "__main__":
    main()
