"""Scenario bank speed: 1,000 scenarios from templates (with and without MiniLM dedup), and
LLM-written / seed-paraphrased situations with the embedded model, time per situation.

    python bench/scenarios.py --llm-n 20 --seeds ../shared/data/esconv/esconv_train.jsonl
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
from collections import Counter

from factory.scenarios.builder import ScenarioConfig, sample_scenarios
from factory.settings import load_settings


def run(label: str, **settings: object) -> None:
    cfg = load_settings(ScenarioConfig, None, dict(settings))
    scenarios, report = asyncio.run(sample_scenarios(cfg))
    kinds = Counter(s.situation_source.kind if s.situation_source else "-" for s in scenarios)
    per = report.seconds / max(1, report.scenarios)
    print(
        f"{label:<34}{report.scenarios:>6}{report.seconds:>9.1f}{1000 * per:>11.1f}"
        f"{report.duplicates_rejected:>8}{report.llm_fallbacks:>10}  {dict(kinds)}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--llm-n", type=int, default=20)
    parser.add_argument("--seeds", nargs="*", default=[])
    args = parser.parse_args()
    print(f"# {platform.machine()} {os.cpu_count()} cpus, python {platform.python_version()}")
    print(
        f"{'run':<34}{'n':>6}{'seconds':>9}{'ms/each':>11}{'dup rej':>8}{'fallback':>10}  sources"
    )
    run("template, no dedup", n=args.n, **{"dedup.enabled": False})
    run("template, MiniLM dedup 0.95", n=args.n)
    run(
        "llm (embedded SmolLM2), no dedup",
        n=args.llm_n,
        situations="llm",
        **{"dedup.enabled": False},
    )
    if args.seeds:
        run(
            "seeded paraphrase (SmolLM2)",
            n=args.llm_n,
            situations="seeded",
            seeds=args.seeds,
            **{"dedup.enabled": False},
        )


if __name__ == "__main__":
    main()
