"""Golden artifacts: what the CLI writes for fixed seeds, normalised and hashed.

Built only through `factory ...` commands, so the same builder runs against any layout of
the package. `python -m tests.golden.artifacts` (from the repository root) rewrites
`expected.json`; the test compares a fresh build with it. Only volatile fields are removed
(wall-clock times, dates, package versions); everything else must match byte for byte.
Parquet files are compared by their rows and schema, not their bytes, so a newer pyarrow
writer does not count as a change. Outputs made from ESConv are stored as hashes only: that
data is research-only and stays out of the repository.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
EXPECTED = HERE / "expected.json"
SHARED = HERE.parents[2] / "shared" / "data"
REPO = HERE.parents[1]

VOLATILE_KEYS = {
    "seconds",
    "created_at",
    "updated_at",
    "started_at",
    "ended_at",
    "finished_at",
    "tool_version",
    "packages",
    "calls_per_s",
    "python",
    "platform",
    "host",
}


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items() if k not in VOLATILE_KEYS}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def _json_text(path: Path) -> str:
    return json.dumps(_scrub(json.loads(path.read_text())), sort_keys=True, indent=1)


def _jsonl_text(path: Path, *, sort: bool = False) -> str:
    rows = [_scrub(json.loads(line)) for line in path.read_text().splitlines() if line.strip()]
    lines = [json.dumps(row, sort_keys=True) for row in rows]
    return "\n".join(sorted(lines) if sort else lines)


def _parquet_text(path: Path) -> str:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    rows = table.to_pylist()
    return json.dumps({"schema": str(table.schema), "rows": _scrub(rows)}, sort_keys=True)


def _card_text(path: Path) -> str:
    lines = path.read_text().splitlines()
    return "\n".join(line for line in lines if "created" not in line.lower())


def _version_texts(folder: Path) -> dict[str, str]:
    texts: dict[str, str] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if path.suffix == ".parquet":
            # The file name carries a hash of the bytes; name the file by its split only.
            key = rel.rsplit("-", 1)[0] + ".parquet"
            texts[key] = _parquet_text(path)
        elif rel == "README.md":
            texts[rel] = _card_text(path)
        elif path.suffix == ".json":
            texts[rel] = _json_text(path)
        elif path.suffix == ".jsonl":
            texts[rel] = _jsonl_text(path)
        else:
            texts[rel] = path.read_text()
    return texts


def _pin_run(path: Path) -> None:
    """Dialogues are written as they finish and carry their wall-clock time: fix both, so
    everything made from the run (hashes of sources, data files) is reproducible."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    for row in rows:
        row["generation"]["seconds"] = 0.0
    rows.sort(key=lambda row: row["id"])
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))


Cli = Callable[..., tuple[int, str]]


def _cli() -> Cli:
    from factory.cli import main

    def run(*args: str) -> tuple[int, str]:
        try:
            main(list(args))
            return 0, ""
        except SystemExit as exc:
            return int(exc.code or 0), ""

    return run


def build(work: Path, *, with_shared: bool = True) -> dict[str, str]:
    """Runs the fixed command sequence in `work` and returns artifact name -> sha256.

    Commands run inside `work` with relative paths, since paths go into manifests and the
    run fingerprint."""
    previous = Path.cwd()
    os.chdir(work)
    try:
        return _build(Path("."), with_shared=with_shared)
    finally:
        os.chdir(previous)


def _build(work: Path, *, with_shared: bool) -> dict[str, str]:
    cli = _cli()
    out: dict[str, str] = {}

    def _digest(text: str) -> str:
        # Shipped files (the default recipe) are recorded by absolute path: the checkout's
        # place differs between machines.
        return hashlib.sha256(text.replace(str(REPO), "REPO").encode()).hexdigest()

    def check(*args: str) -> None:
        code, _ = cli(*args)
        if code != 0:
            raise RuntimeError(f"factory {' '.join(args)} exited {code}")

    bank = work / "bank.jsonl"
    check("personas", "sample", "--n", "40", "--seed", "7", "--no-dedup", "--out", str(bank))
    out["personas/bank.jsonl"] = _digest(bank.read_text())
    llm_bank = work / "llm_bank.jsonl"
    check(
        "personas", "sample", "--n", "6", "--seed", "3", "--situations", "llm",
        "--backend", "scripted", "--no-dedup", "--out", str(llm_bank),
    )  # fmt: skip
    out["personas/llm_bank.jsonl"] = _digest(llm_bank.read_text())

    run7 = work / "run7"
    check("generate", "--dry-run", "--n", "8", "--seed", "7", "--out", str(run7))
    run23 = work / "run23"
    check(
        "generate", "--dry-run", "--n", "5", "--seed", "23", "--taxonomy", "extes",
        "--scenarios", str(bank), "--out", str(run23),
    )  # fmt: skip
    for name, run in (("run7", run7), ("run23", run23)):
        _pin_run(run / "dialogues.jsonl")
        out[f"{name}/dialogues.jsonl"] = _digest(_jsonl_text(run / "dialogues.jsonl"))
        manifest = json.loads((run / "manifest.json").read_text())
        manifest.pop("sessions", None)
        out[f"{name}/manifest.json"] = _digest(json.dumps(_scrub(manifest), sort_keys=True))

    filtered = work / "filtered7"
    check("filter", str(run7), "--out", str(filtered))
    for file in ("kept.jsonl", "rejected.jsonl"):
        out[f"filter7/{file}"] = _digest(_jsonl_text(filtered / file))
    out["filter7/report.json"] = _digest(_json_text(filtered / "report.json"))

    prefs = work / "prefs.yaml"
    prefs.write_text("backend: {kind: scripted}\nalternatives: 2\nturns_per_dialogue: 2\n")
    structure = work / "structure.yaml"
    structure.write_text(
        "name: golden\nfilters:\n  - use: structure\n    min_turns: 2\n  - use: exact_dedup\n"
    )
    sources = [str(run7), str(run23)]
    if with_shared:
        esc = work / "esconv_test.jsonl"
        check("import", "esconv", str(SHARED / "esconv" / "esconv_test.jsonl"), "--out", str(esc))
        out["esconv/import.jsonl"] = _digest(esc.read_text())
        fe = work / "filtered_esc"
        check("filter", str(esc), "--out", str(fe))
        for file in ("kept.jsonl", "rejected.jsonl"):
            out[f"esconv/filter/{file}"] = _digest(_jsonl_text(fe / file))
        out["esconv/filter/report.json"] = _digest(_json_text(fe / "report.json"))
        ev = work / "eval"
        check("eval", str(esc), "--reference", str(run7), "--no-realism", "--out", str(ev))
        out["esconv/eval/report.json"] = _digest(_json_text(ev / "report.json"))
        sources.append(str(esc))

    datasets = work / "datasets"
    check(
        "curate", *sources, "--name", "golden", "--out", str(datasets), "--recipe", str(structure),
        "--preferences", str(prefs), "--seed", "3",
    )  # fmt: skip
    version = datasets / "golden" / "v0.1.0"
    for rel, text in _version_texts(version).items():
        out[f"version/{rel}"] = _digest(text)
    exported = work / "export.jsonl"
    check(
        "export", "golden", "v0.1.0", "--root", str(datasets), "--out", str(exported),
        "--strategy-in-text",
    )  # fmt: skip
    out["version/export.jsonl"] = _digest(exported.read_text())
    return out


def main() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        result = build(Path(tmp), with_shared=SHARED.is_dir())
    EXPECTED.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(result)} artifacts to {EXPECTED}", file=sys.stderr)


if __name__ == "__main__":
    main()
