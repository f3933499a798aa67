"""Call rate and client CPU of a tuned distilabel 1.5.3 pipeline against a fake OpenAI server.

Run with a Python that has distilabel 1.5.3 (not the project's venv; see BENCHMARKS.md):

    python bench/distilabel_baseline.py --base-url http://127.0.0.1:PORT/v1 --calls 2000 --concurrency 64

The pipeline is LoadDataFromDicts (`calls` distinct instructions) -> TextGeneration with
OpenAILLM. It is tuned for throughput: the loader's batch_size and the task's input_batch_size
both equal `concurrency` (an AsyncLLM sends one input batch at a time, all of it concurrently
through asyncio.gather, so input_batch_size is distilabel's in-flight limit), raw input/output
columns off, no structured output, use_cache=False. By default one replica of the task;
--replicas R runs R worker processes with concurrency/R in flight each, which hides part of the
per-batch barrier (every batch waits for its slowest call) at the price of more CPU.

Measured from just before the Pipeline is built until `pipeline.run()` returns its Distiset
(start-up of the step processes, the calls, writing and reloading the parquet output);
interpreter start-up and imports are not counted. The last stdout line is one JSON object:
tool, version, calls (rows with a non-empty generation), wall_s, cpu_s, calls_per_s and
cpu_ms_per_call.

distilabel quirks worked around:
- Its logs go to stdout through a rich handler, from the main process and the step workers,
  and `_grab_citations` print()s errors after each run. So fd 1 is pointed at stderr for the
  whole run (child processes inherit that) and the JSON is written to a saved copy of fd 1.
- After each run it fetches arxiv bibtex citations over the network (requests + bs4). Without
  beautifulsoup4 installed, that import fails before any request is made; keep bs4 out of the
  venv. distilabel itself honours no telemetry env var (only DISTILABEL_LOG_LEVEL,
  DISTILABEL_CACHE_DIR and internal ones); the Hugging Face libraries it uses are put offline.
- Start-up costs about 3 s whatever the load: the main process polls the step workers' load
  status with a 2.5 s sleep. It is part of distilabel's real cost and is counted.
- It always writes batches and the dataset under its cache dir (~/.cache/distilabel) and would
  resume a previous run with the same signature; a fresh temp dir per run (deleted at the
  end) plus use_cache=False makes every run start from nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time

CACHE_DIR = tempfile.mkdtemp(prefix="distilabel-bench-")
os.environ.update(
    {
        "DISTILABEL_CACHE_DIR": CACHE_DIR,
        "DISTILABEL_LOG_LEVEL": "WARNING",
        "HF_HOME": os.path.join(CACHE_DIR, "hf"),
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "DO_NOT_TRACK": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
)

# Keep the real stdout for the JSON line; everything else written to fd 1 goes to stderr.
JSON_OUT = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)
sys.stdout = sys.stderr

import distilabel  # noqa: E402
from distilabel.models import OpenAILLM  # noqa: E402
from distilabel.pipeline import Pipeline  # noqa: E402
from distilabel.steps import LoadDataFromDicts, StepResources  # noqa: E402
from distilabel.steps.tasks import TextGeneration  # noqa: E402


def cpu_seconds() -> float:
    # User + system time of this process plus all its terminated, waited-for descendants
    # (distilabel's step worker pool and its multiprocessing manager are joined before run()
    # returns). The fake server is a separate process tree and is not counted.
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--replicas", type=int, default=1, help="task worker processes")
    args = parser.parse_args()
    if not args.base_url.startswith(("http://127.0.0.1", "http://localhost")):
        raise SystemExit("refusing a base URL that is not on this machine")

    rows = [{"instruction": f"Say something kind to person number {i}."} for i in range(args.calls)]
    wall0, cpu0 = time.perf_counter(), cpu_seconds()
    with Pipeline(name="distilabel-baseline", cache_dir=CACHE_DIR) as pipeline:
        load = LoadDataFromDicts(data=rows, batch_size=args.concurrency)
        generate = TextGeneration(
            llm=OpenAILLM(
                model="fake",
                base_url=args.base_url,
                api_key="not-needed",
                timeout=60,
                generation_kwargs={"max_new_tokens": 64},
            ),
            input_batch_size=max(1, args.concurrency // args.replicas),
            resources=StepResources(replicas=args.replicas),
            add_raw_output=False,
            add_raw_input=False,
            use_default_structured_output=False,
        )
        load >> generate
    try:
        distiset = pipeline.run(use_cache=False)
        wall, cpu = time.perf_counter() - wall0, cpu_seconds() - cpu0
        ok = sum(1 for sub in distiset.values() for g in sub["train"]["generation"] if g)
    finally:
        shutil.rmtree(CACHE_DIR, ignore_errors=True)
    result = {
        "tool": "distilabel",
        "version": distilabel.__version__,
        "calls": ok,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "calls_per_s": round(ok / wall, 2) if wall else 0.0,
        "cpu_ms_per_call": round(1000 * cpu / ok, 3) if ok else None,
    }
    print(json.dumps(result), file=JSON_OUT, flush=True)


if __name__ == "__main__":
    main()
