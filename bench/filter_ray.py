"""`factory filter` with and without `--ray` (a local Ray on this machine's CPUs), as a user
runs it (a child process each, start-up included), on ESConv imported (1,300 dialogues, all
splits) with the default recipe: wall seconds each, where the single-process run spent its
time, and whether kept.jsonl and rejected.jsonl are byte-identical.

    python bench/filter_ray.py --shared ../shared/data
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

from factory.importers.esconv import import_esconv


def timed_filter(source: Path, out: Path, *extra: str) -> float:
    began = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "factory", "filter", str(source), "--out", str(out), *extra],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("--recipe", default="default")
    args = parser.parse_args()
    print(f"# {platform.machine()} {os.cpu_count()} cpus, python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        dialogues, _ = import_esconv(
            [args.shared / "esconv" / f"esconv_{s}.jsonl" for s in ("train", "valid", "test")]
        )
        source = tmp / "esconv.jsonl"
        source.write_text("".join(d.model_dump_json() + "\n" for d in dialogues))
        one = timed_filter(source, tmp / "one", "--recipe", args.recipe)
        on_ray = timed_filter(source, tmp / "ray", "--recipe", args.recipe, "--ray")
        report = json.loads((tmp / "one" / "report.json").read_text())
        print(
            f"{len(dialogues)} dialogues, recipe {args.recipe}, {report['counts']['kept']} kept:"
            f" one process {one:.1f}s, --ray {on_ray:.1f}s ({one / on_ray:.2f}x)"
        )
        slowest = sorted(report["funnel"], key=lambda s: -s["seconds"])[:4]
        print(
            "one process, slowest filters: "
            + ", ".join(f"{s['filter']} {s['seconds']:.1f}s" for s in slowest)
        )
        same = all(
            (tmp / "one" / name).read_bytes() == (tmp / "ray" / name).read_bytes()
            for name in ("kept.jsonl", "rejected.jsonl")
        )
        print(f"kept.jsonl and rejected.jsonl byte-identical: {same}")


if __name__ == "__main__":
    main()
