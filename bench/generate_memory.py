"""Memory and start-up of `factory generate` as the plan grows (issue 13: generation that
streams).

For each planned size N, a dry run (the scripted backend) with a token budget that stops it
after a few dozen dialogues, so what is measured is the cost of planning N, not of making N:

- peak RSS of the whole process (from wait4's rusage),
- time from the process start to the first dialogue line on disk,
- wall time of the run.

Then a resume with nothing to do: a finished run of `--done` dialogues rerun as is.

`--baseline DIR` runs the same commands with another checkout of the project on
PYTHONPATH (e.g. `git worktree add /tmp/old <commit>`) beside this one, for a side-by-side
ratio in one run; `--baseline-max` caps the sizes it is asked for (an eager planner takes
about 0.7 ms a scenario before its first dialogue).

    python bench/generate_memory.py --sizes 10000,100000,1000000
    python bench/generate_memory.py --sizes 10000,100000 --baseline /tmp/old
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(args: list[str], code_root: Path, first_line_of: Path | None = None) -> dict[str, float]:
    """Runs `python -m factory ARGS` with code_root first on the path; peak RSS in MB, the
    seconds to the first line of `first_line_of` and the wall time."""
    env = {**os.environ, "PYTHONPATH": str(code_root)}
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "factory", *args],
        env=env,
        cwd=code_root,  # `-m` puts the working directory first on the path
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    first = float("nan")
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if first != first and first_line_of is not None and _has_a_line(first_line_of):
            first = time.perf_counter() - started
        time.sleep(0.01)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if code not in (0, 1):  # 1: stopped at the budget, as asked
        raise SystemExit(f"{args} failed ({code}): {err[-500:]}")
    return {"rss_mb": usage.ru_maxrss / 1024, "first_s": first, "wall_s": wall}


def _has_a_line(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 0


def planned(code_root: Path, n: int, tokens: int, scratch: Path) -> dict[str, float]:
    out = scratch / f"run-{code_root.name}-{n}"
    shutil.rmtree(out, ignore_errors=True)
    args = ["generate", "--dry-run", "-n", str(n), "--max-tokens", str(tokens), "--out", str(out)]
    result = run(args, code_root, out / "dialogues.jsonl")
    result["made"] = sum(1 for _ in (out / "dialogues.jsonl").open())
    return result


def resumed(code_root: Path, done: int, scratch: Path) -> dict[str, float]:
    out = scratch / f"done-{code_root.name}"
    shutil.rmtree(out, ignore_errors=True)
    args = ["generate", "--dry-run", "-n", str(done), "--out", str(out)]
    run(args, code_root)
    return run(args, code_root)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--tokens", type=int, default=400_000, help="the budget of each run")
    parser.add_argument("--done", type=int, default=2000, help="dialogues in the resumed run")
    parser.add_argument("--baseline", type=Path, help="another checkout to compare with")
    parser.add_argument("--baseline-max", type=int, default=100_000)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    roots = [("this", ROOT)] + ([("baseline", args.baseline)] if args.baseline else [])
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        print(
            f"{'code':9} {'planned':>9} {'made':>5} {'peak RSS MB':>12} {'first s':>8} {'wall s':>7}"
        )
        rss: dict[str, list[float]] = {}
        for label, root in roots:
            for n in sizes:
                if label == "baseline" and n > args.baseline_max:
                    continue
                r = planned(root, n, args.tokens, scratch)
                rss.setdefault(label, []).append(r["rss_mb"])
                print(
                    f"{label:9} {n:>9,} {r['made']:>5.0f} {r['rss_mb']:>12.0f}"
                    f" {r['first_s']:>8.2f} {r['wall_s']:>7.2f}",
                    flush=True,
                )
        for label, values in rss.items():
            print(
                f"{label}: peak RSS spread {max(values) / min(values) - 1:.1%} (largest/smallest - 1)"
            )
        print(f"\nresume of a finished run of {args.done:,} with nothing to do:")
        for label, root in roots:
            r = resumed(root, args.done, scratch)
            print(f"{label:9} peak RSS {r['rss_mb']:.0f} MB, {r['wall_s']:.2f} s", flush=True)


if __name__ == "__main__":
    main()
