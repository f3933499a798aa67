"""How close `factory generate` gets to the ideal call rate against a slow server, and what
each call costs the client in CPU, side by side with a tuned distilabel pipeline.

A fake OpenAI-compatible server runs in its own process with a fixed latency (default 200 ms),
so its CPU is not counted. The ideal rate is concurrency / latency. For each concurrency we run
`factory generate` in a child process, start-up included (three-role dialogues: prompts,
parsing, writing the run directory), on both transports of the openai backend, then distilabel's TextGeneration on the same server, if a
Python with distilabel is given (--distilabel-python; see BENCHMARKS.md for its venv).

    python bench/client_throughput.py --concurrency 16 32 64 128 --calls 2000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from factory.testing.fake_openai import spawn

CALLS_PER_DIALOGUE = 13  # the fake server's canned seeker closes after 4 exchanges


def run_factory(url: str, concurrency: int, calls: int, transport: str) -> dict[str, float]:
    """`factory generate` as a user runs it: a child process, start-up included."""
    # Whole waves of `concurrency` dialogues, so no wave ends half empty.
    dialogues = max(1, round(calls / CALLS_PER_DIALOGUE / concurrency)) * concurrency
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "bench.yaml"
        config.write_text(f"backend:\n  transport: {transport}\n")
        out = Path(tmp) / "run"
        cmd = [
            sys.executable, "-m", "factory", "generate", "--config", str(config),
            "--backend", "openai", "--base-url", url, "--model", "fake",
            "-n", str(dialogues), "--concurrency", str(concurrency), "--out", str(out),
        ]  # fmt: skip
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - wall0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        manifest = json.loads((out / "manifest.json").read_text())
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    calls_made = manifest["usage"]["calls"]
    return {
        "calls": calls_made,
        "wall_s": wall,
        "cpu_s": cpu,
        "calls_per_s": calls_made / wall,
        "cpu_ms_per_call": 1000 * cpu / calls_made,
    }


def run_distilabel(python: str, url: str, concurrency: int, calls: int) -> dict[str, float] | None:
    script = Path(__file__).with_name("distilabel_baseline.py")
    done = subprocess.run(
        [
            python,
            str(script),
            "--base-url",
            url,
            "--calls",
            str(calls),
            "--concurrency",
            str(concurrency),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode != 0 or not done.stdout.strip():
        print(f"  distilabel failed: {done.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    if not result.get("calls"):  # distilabel exits 0 even when every call failed
        print("  distilabel made no successful call", file=sys.stderr)
        return None
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description="factory generate vs ideal vs distilabel")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16, 32, 64, 128])
    parser.add_argument(
        "--calls", type=int, default=2000, help="about this many calls per measurement"
    )
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--transports", nargs="+", default=["http", "sdk"])
    parser.add_argument("--distilabel-python", help="a Python that has distilabel 1.5.3 installed")
    args = parser.parse_args()

    server, url = spawn("--latency", str(args.latency))
    print(
        f"# {platform.machine()} {os.cpu_count()} cpus, python {platform.python_version()},"
        f" server latency {args.latency * 1000:.0f} ms, about {args.calls} calls each"
    )
    print(
        f"{'client':<22}{'in flight':>10}{'calls':>8}{'calls/s':>10}{'of ideal':>10}{'cpu ms/call':>13}"
    )
    try:
        for concurrency in args.concurrency:
            ideal = concurrency / args.latency
            rows: list[tuple[str, dict[str, float] | None]] = [
                (f"factory ({transport})", run_factory(url, concurrency, args.calls, transport))
                for transport in args.transports
            ]
            if args.distilabel_python:
                rows.append(
                    (
                        "distilabel 1.5.3",
                        run_distilabel(args.distilabel_python, url, concurrency, args.calls),
                    )
                )
            for name, row in rows:
                if row is None:
                    continue
                print(
                    f"{name:<22}{concurrency:>10}{row['calls']:>8.0f}{row['calls_per_s']:>10.1f}"
                    f"{row['calls_per_s'] / ideal:>10.2f}{row['cpu_ms_per_call']:>13.2f}",
                    flush=True,
                )
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
