"""Exact + MinHash dedup against the I/O floor: `factory filter` with only the two dedup
filters on N dialogues built from real ESConv utterances, next to the time of reading and
parsing the same file once, and the same filters as they were at a baseline commit (loaded
from git, so both run in one process on one file).

    python bench/dedup.py --shared ../shared/data --n 100000 --baseline 2a39e73
    python bench/dedup.py --shared ../shared/data --n 100000 --baseline 2229223 --baseline-pipeline
    python bench/dedup.py --shared ../shared/data --n 100000 --repeat 3 --general

With --general, today's pipeline also runs the recipe its general way (parsed dialogues held
a batch at a time) beside the transcript pass it takes by default (filters/transcript_pass.py).

With --baseline-pipeline the baseline side runs that commit's filter pipeline too (how
batches are read, passed through the filters and written), loaded the same way; it must
import with today's package.

(The baseline's MinHash used datasketch, no longer a dependency: `pip install "datasketch<3"`
to time it.)

The set: distinct dialogues whose turns are ESConv utterances drawn at random (so no two
share more than chance), then planted exact copies (case and spacing changed) and near
copies (`--near-words` words replaced) of some of them. Catch rates are counted from the
ids; agreement is the share of dialogues on which the old and new filters give the same
keep/drop verdict.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
import types
from functools import partial
from pathlib import Path
from typing import Any

from factory.filters import FILTERS
from factory.filters.pipeline import run_recipe
from factory.filters.recipe import load_recipe
from factory.importers.esconv import import_esconv
from factory.models import Dialogue

RECIPE = "name: dedup-bench\nfilters:\n  - use: exact_dedup\n  - use: minhash_dedup\n"


def contract_set(
    shared: Path, n: int, copies: float, near_words: int, seed: int
) -> tuple[list[Dialogue], dict[str, str]]:
    """N dialogues and the kind of each planted one by id (`exact` or `near`)."""
    esconv, _ = import_esconv(
        [shared / "esconv" / f"esconv_{s}.jsonl" for s in ("train", "valid", "test")]
    )
    rng = random.Random(seed)
    seeker = [t for d in esconv for t in d.turns if t.role == "seeker" and t.text.strip()]
    supporter = [t for d in esconv for t in d.turns if t.role == "supporter" and t.text.strip()]
    planted = int(n * copies)
    distinct: list[Dialogue] = []
    for i in range(n - planted):
        template = esconv[i % len(esconv)]
        turns = [
            rng.choice(seeker if t.role == "seeker" else supporter).model_copy(
                update={"intensity": t.intensity}
            )
            for t in template.turns
        ]
        distinct.append(template.model_copy(update={"id": f"u{i}", "turns": turns}))
    kinds: dict[str, str] = {}
    rows = list(distinct)
    for i, source in enumerate(rng.sample(distinct, planted)):
        turns = list(source.turns)
        if i % 2 == 0:
            turns = [t.model_copy(update={"text": t.text.upper() + "  "}) for t in turns]
            kind = "exact"
        else:
            for _ in range(near_words):
                j = rng.randrange(len(turns))
                words = turns[j].text.split()
                words[rng.randrange(len(words))] = rng.choice(["really", "maybe", "just", "so"])
                turns[j] = turns[j].model_copy(update={"text": " ".join(words)})
            kind = "near"
        copy_id = f"{kind}{i}-of-{source.id}"
        kinds[copy_id] = kind
        rows.append(source.model_copy(update={"id": copy_id, "turns": turns}))
    rng.shuffle(rows)
    return rows, kinds


def _module_at(commit: str, path: str, name: str) -> types.ModuleType:
    source = subprocess.run(
        ["git", "show", f"{commit}:{path}"], capture_output=True, text=True, check=True
    ).stdout
    module = types.ModuleType(name)
    sys.modules[name] = module  # dataclasses look their module up
    exec(compile(source, f"{commit}:{path}", "exec"), module.__dict__)
    return module


def baseline_filters(commit: str) -> dict[str, type[Any]]:
    """exact_dedup and minhash_dedup as they were at `commit`, loaded from git together with
    the text normalisation they imported then."""
    text = _module_at(commit, "factory/text.py", "baseline_text")
    current = sys.modules["factory.text"]
    sys.modules["factory.text"] = text
    try:
        exact = _module_at(commit, "factory/filters/exact_dedup.py", "baseline_exact")
        minhash = _module_at(commit, "factory/filters/minhash_dedup.py", "baseline_minhash")
    finally:
        sys.modules["factory.text"] = current
    return {"exact_dedup": exact.ExactDedupFilter, "minhash_dedup": minhash.MinHashDedupFilter}


def parse_floor(path: Path, hold: int = 1) -> float:
    """Reading and parsing every line; with `hold`, the parsed dialogues are kept that many
    at a time, as a pipeline batch keeps them (cycle collection paused, as there)."""
    import gc

    began = time.perf_counter()
    held: list[Dialogue] = []
    gc.disable()
    try:
        with path.open("rb") as handle:
            for line in handle:
                held.append(Dialogue.model_validate_json(line))
                if len(held) >= hold:
                    held = []
        held = []
    finally:
        gc.enable()
    return time.perf_counter() - began


def baseline_pipeline(commit: str) -> Any:
    """`run_recipe` as it was at `commit`."""
    return _module_at(commit, "factory/filters/pipeline.py", "baseline_pipeline").run_recipe


def run(
    path: Path, out: Path, filters: dict[str, type[Any]] | None, runner: Any = run_recipe
) -> tuple[float, Any]:
    saved = dict(FILTERS)
    if filters:
        FILTERS.update(filters)
    try:
        recipe_file = out.with_suffix(".yaml")
        recipe_file.write_text(RECIPE)
        began = time.perf_counter()
        report = runner(path, load_recipe(str(recipe_file)), out, warn=lambda _: None)
        return time.perf_counter() - began, report
    finally:
        FILTERS.clear()
        FILTERS.update(saved)


def verdicts(out: Path) -> dict[str, bool]:
    import json

    kept = {json.loads(line)["id"]: True for line in (out / "kept.jsonl").open()}
    dropped = {json.loads(line)["id"]: False for line in (out / "rejected.jsonl").open()}
    return {**kept, **dropped}


def catch_rates(keep: dict[str, bool], kinds: dict[str, str]) -> str:
    # A copy may come before its source: a pair is caught when exactly one of the two stays.
    out = []
    for kind in ("exact", "near"):
        pairs = [(c, c.split("-of-")[1]) for c, k in kinds.items() if k == kind]
        caught = sum(keep[a] != keep[b] for a, b in pairs)
        out.append(f"{kind} copies caught {caught}/{len(pairs)} ({100 * caught / len(pairs):.1f}%)")
    sources = {c.split("-of-")[1] for c in kinds}
    lone = [i for i in keep if i not in kinds and i not in sources]
    wrong = sum(not keep[i] for i in lone)
    out.append(f"distinct dialogues dropped {wrong}/{len(lone)} ({100 * wrong / len(lone):.2f}%)")
    return "; ".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--copies", type=float, default=0.1, help="share of planted copies")
    parser.add_argument("--near-words", type=int, default=3)
    parser.add_argument("--baseline", help="a commit whose dedup filters to time as well")
    parser.add_argument(
        "--baseline-pipeline", action="store_true", help="and that commit's filter pipeline"
    )
    parser.add_argument(
        "--general", action="store_true", help="and today's general path (no transcript pass)"
    )
    parser.add_argument(
        "--held",
        action="store_true",
        help="also time the parse holding 1,000 dialogues at a time (what a batch costs)",
    )
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument(
        "--repeat", type=int, default=3, help="times each is run; the best time of each is compared"
    )
    args = parser.parse_args()
    if args.general and args.baseline:
        parser.error("--general and --baseline are two runs: give one")
    print(
        f"# {platform.machine()} {os.cpu_count()} cpus, python {platform.python_version()},"
        f" load {os.getloadavg()[0]:.1f}"
    )
    rows, kinds = contract_set(args.shared, args.n, args.copies, args.near_words, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "in.jsonl"
        with path.open("w") as handle:
            handle.writelines(d.model_dump_json(exclude_none=True) + "\n" for d in rows)
        del rows
        size = path.stat().st_size / 2**20
        print(f"{args.n} dialogues, {size:.0f} MiB; {len(kinds)} planted copies")
        # On a shared VM one run of either can be a third slower than the next, so each is
        # run --repeat times, alternating, and the best of each is compared.
        floors: list[float] = []
        held: list[float] = []
        sides: list[tuple[str, Any, Any]] = [("new", None, run_recipe)]
        if args.general:
            sides.insert(0, ("general path", None, partial(run_recipe, transcript_pass=False)))
        if args.baseline:
            label = f"baseline {args.baseline}" + (" (its pipeline too)" * args.baseline_pipeline)
            runner = baseline_pipeline(args.baseline) if args.baseline_pipeline else run_recipe
            sides.insert(0, (label, baseline_filters(args.baseline), runner))
        runs: dict[str, list[tuple[float, Any]]] = {label: [] for label, _, _ in sides}
        results = {}
        for _ in range(args.repeat):
            floors.append(parse_floor(path))
            if args.held:
                held.append(parse_floor(path, hold=1000))
            for label, filters, runner in sides:
                out = Path(tmp) / label.split()[0]
                runs[label].append(run(path, out, filters, runner))
                results[label] = verdicts(out)
        floor = min(floors)
        print(f"read + parse once: best {floor:.1f}s of {', '.join(f'{f:.1f}' for f in floors)}")
        if held:
            print(
                f"read + parse, 1,000 parsed dialogues held at a time: best {min(held):.1f}s"
                f" of {', '.join(f'{f:.1f}' for f in held)} ({min(held) / floor:.2f}x)"
            )
        for label, _, _ in sides:
            seconds, report = min(runs[label], key=lambda r: r[0])
            steps = ", ".join(f"{s.filter} {s.seconds:.1f}s -{s.dropped}" for s in report.funnel)
            every = ", ".join(f"{r[0]:.1f}" for r in runs[label])
            print(
                f"{label}: factory filter best {seconds:.1f}s of {every} ({seconds / floor:.1f}x"
                f" the floor); {steps}; dedup alone"
                f" {sum(s.seconds for s in report.funnel) / floor:.1f}x"
            )
            print(f"  {catch_rates(results[label], kinds)}")
        if len(results) == 2:
            old, new = results.values()
            first = next(iter(results)).split()[0]
            same = sum(old[i] == new[i] for i in old)
            print(f"agreement old/new: {same}/{len(old)} ({100 * same / len(old):.2f}%)")
            for name in ("kept.jsonl", "rejected.jsonl"):
                equal = (Path(tmp) / first / name).read_bytes() == (
                    Path(tmp) / "new" / name
                ).read_bytes()
                print(f"  {name}: {'the same bytes' if equal else 'DIFFERENT bytes'} old/new")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
