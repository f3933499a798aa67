"""A 10,000-dialogue set made from a seed (no shared data needed) and what `factory curate`
makes of it, reduced to what must not change when curation's data path changes: the kept ids,
each split's ids, the statistics, the funnel and the rejected file's bytes.

`python -m tests.scale_set --write` (from the repository root, with PYTHONPATH pointing at
the code to record) rewrites tests/scale_expected.json; it was written from commit 446e981,
the last one that held every kept dialogue in memory. The set has repeated ids, exact and
near copies, dialogues too short for `structure`, a second version deduplicated against the
first, and an evaluation set to decontaminate against, so every step of the data path runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
EXPECTED = HERE / "scale_expected.json"
N = 10_000
TEXT = (
    "i feel so tired and alone since my job ended last month my sister says it will pass "
    "but every morning is harder to face what would help you most right now that sounds "
    "really painful have you talked with anyone about how heavy this has been lately maybe "
    "we could look at one small step you could take this week together"
)
WORDS = TEXT.split(" ")
STRATEGIES = ["Question", "Reflection of feelings", "Providing Suggestions", "Self-disclosure"]
EMOTIONS = ["anxiety", "sadness", "anger", "fear"]
PROBLEMS = ["job crisis", "breakup with partner", "academic pressure", "ongoing depression"]


def _text(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randrange(5, 25))) + "."


def rows(seed: int = 5) -> list[dict[str, Any]]:
    """N dialogue records: distinct ones on shared scenarios and personas (so splits group
    them), a few too short or malformed, and exact copies, near copies and repeated ids."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    for i in range(N):
        if out and rng.random() < 0.06:
            kind = rng.choice(["exact", "near", "same_id"])
            row = json.loads(json.dumps(rng.choice(out)))
            if kind == "near":
                row["turns"][1]["text"] += " really"
            if kind == "same_id":  # other words under an id already used
                for turn in row["turns"]:
                    turn["text"] = _text(rng)
            if kind != "same_id":
                row["id"] = f"{kind}-{i}"
            out.append(row)
            continue
        scenario = rng.randrange(2500)
        persona = scenario % 1200  # scenarios s, s + 1200, s + 2400 share a seeker: one group
        turns = []
        for t in range(rng.choice([4, 12, 14, 16, 18, 20])):
            role = "seeker" if t % 2 == 0 else "supporter"
            turn: dict[str, Any] = {"role": role, "text": _text(rng)}
            if role == "supporter":
                turn["strategy"] = rng.choice(STRATEGIES)
            else:
                turn["intensity"] = rng.randrange(1, 6)
            turns.append(turn)
        out.append(
            {
                "id": f"d{i}",
                "persona": {
                    "id": f"p{persona}",
                    "name": "Sam",
                    "age": 20 + persona % 50,
                    "gender": "person",
                    "occupation": "a clerk",
                    "traits": ["quiet"],
                    "style": "Plain.",
                },
                "scenario": {
                    "id": f"s{scenario}",
                    "problem_type": PROBLEMS[scenario % 4],
                    "emotion_type": EMOTIONS[scenario % 4],
                    "initial_intensity": 4,
                    "situation": f"Situation {scenario}.",
                },
                "turns": turns,
                # One in 200 is not a valid record (an unknown end reason): malformed.
                "end_reason": "closing"
                if rng.random() < 0.005
                else rng.choice(["completed", "max_turns", "seeker_closed"]),
                "generation": {
                    "backend": "scripted",
                    "model": "scripted",
                    "seed": 0,
                    "taxonomy": "esconv",
                    "prompt_hashes": {},
                    "tool_version": "0",
                },
            }
        )
    return out


def write_inputs(folder: Path) -> tuple[Path, Path, Path]:
    """The first 6,000 records (for v0.1.0), all of them (v0.2.0) and an evaluation set that
    quotes 40 of the dialogues' supporter turns."""
    records = rows()
    first, everything, evalset = folder / "first.jsonl", folder / "all.jsonl", folder / "eval.jsonl"
    first.write_text("".join(json.dumps(r) + "\n" for r in records[:6000]))
    everything.write_text("".join(json.dumps(r) + "\n" for r in records))
    quoted = [r["turns"][1]["text"] for r in records[7000:9000:50]]
    evalset.write_text("".join(json.dumps({"text": t * 2}) + "\n" for t in quoted))
    return first, everything, evalset


def curate_versions(folder: Path, code_root: Path) -> dict[str, Any]:
    """Curates v0.1.0 and v0.2.0 (with --dedup-published and --decontaminate) with the code
    under `code_root`; what they hold, reduced."""
    first, everything, evalset = write_inputs(folder)
    recipe = folder / "recipe.yaml"
    recipe.write_text(
        "name: scale\nfilters:\n  - use: structure\n  - use: exact_dedup\n  - use: minhash_dedup\n"
    )
    root = folder / "datasets"
    env = {**os.environ, "PYTHONPATH": str(code_root)}
    base = [sys.executable, "-m", "factory", "curate", "--name", "s", "--root", str(root)]
    for source, extra in (
        (first, []),
        (everything, ["--dedup-published", "--decontaminate", str(evalset)]),
    ):
        subprocess.run(
            [*base, str(source), "--recipe", str(recipe), *extra],
            env=env,
            cwd=code_root,  # `-m factory` looks in the working directory first
            check=True,
            capture_output=True,
        )
    result = {label: reduce(root / "s" / label) for label in ("v0.1.0", "v0.2.0")}
    # eval of a file against a reference, and of a version (its parquet files), as streams
    for label, subject, extra in (
        ("eval_file", everything, ["--reference", str(first)]),
        ("eval_version", root / "s" / "v0.2.0", []),
    ):
        out = folder / label
        subprocess.run(
            [sys.executable, "-m", "factory", "eval", str(subject), "--out", str(out),
             "--no-realism", *extra],
            env=env,
            cwd=code_root,
            check=True,
            capture_output=True,
        )  # fmt: skip
        report = json.loads((out / "report.json").read_text())
        result[label] = {
            k: v for k, v in report.items() if k not in ("seconds", "input", "reference")
        }
    return result


def _digest(items: list[str]) -> str:
    return hashlib.sha256("\n".join(items).encode()).hexdigest()[:16]


def reduce(version: Path) -> dict[str, Any]:
    import pyarrow.parquet as pq

    manifest = json.loads((version / "manifest.json").read_text())
    split_ids = {
        split: pq.read_table(version / relative, columns=["id"]).column("id").to_pylist()
        for split, relative in manifest["split_files"].items()
    }
    kept = sorted(i for ids in split_ids.values() for i in ids)
    return {
        "kept": _digest(kept),
        "splits": {s: [len(ids), _digest(ids)] for s, ids in split_ids.items()},
        "counts": manifest["counts"],
        "funnel": [{k: v for k, v in s.items() if k != "seconds"} for s in manifest["funnel"]],
        "stats": manifest["stats"],
        "published": _published_as_446e981_recorded_it(manifest.get("published")),
        "decontamination": manifest.get("decontamination"),
        "files": {
            path: _as_json_dumps_wrote_it(version / path, entry)
            for path, entry in manifest["data_files"].items()
            if not path.endswith(".parquet")
        },
    }


def _published_as_446e981_recorded_it(check: dict[str, Any] | None) -> dict[str, Any] | None:
    """The published check without the split of its drops (exact, by_version: added after
    446e981), once the split is seen to add up to the count it splits."""
    if check is None:
        return None
    split = {key: check.pop(key) for key in ("exact", "by_version") if key in check}
    if split:
        assert 0 <= split["exact"] <= check["dropped"] == sum(split["by_version"].values())
    return check


def _as_json_dumps_wrote_it(path: Path, entry: dict[str, Any]) -> dict[str, Any]:
    """A JSONL file's digest as if each row were written by `json.dumps` (as 446e981 wrote
    rejected.jsonl; rows are now written compact by pydantic): the same rows, the same
    values, the same key order give the same digest. Other files: the manifest's entry.
    A decontamination verdict's `shared` detail (the shared words, added after 446e981) is
    left out; everything else must be as it was."""
    if path.suffix != ".jsonl":
        return entry
    digest = hashlib.sha256()
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            for verdict in row.get("verdicts", []):
                if verdict.get("filter") == "decontaminate":
                    verdict.get("details", {}).pop("shared", None)
            digest.update((json.dumps(row, ensure_ascii=False) + "\n").encode())
    return {**entry, "sha256": digest.hexdigest()}


if __name__ == "__main__":
    import tempfile

    if "--write" not in sys.argv:
        raise SystemExit("usage: PYTHONPATH=CODE python -m tests.scale_set --write")
    code = Path(os.environ.get("PYTHONPATH", str(HERE.parent)))
    with tempfile.TemporaryDirectory() as tmp:
        result = curate_versions(Path(tmp), code)
    EXPECTED.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    print(f"wrote {EXPECTED}")
