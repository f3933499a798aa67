"""Clean runs of every writing command on small dry-run data, made once per session, and
the checks the fault tests (test_faults, test_kill_points) make after a crash, a full disk
or a read-only target: what is left reads as a clean run's result or as nothing, readers say
when a run is unfinished, and the rerun completes to exactly the clean result."""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import io
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from factory.cli import main
from factory.scenarios.bank import SampledScenarios

N = 6  # dialogues in the small runs
BIG = 40  # dialogues in the run that real kills land in
# Cheap filters only: a fault test needs survivors and speed, not the model-based filters.
CHEAP = """name: cheap
filters:
  - use: structure
    min_turns: 6
  - use: exact_dedup
  - use: minhash_dedup
    threshold: 0.8
"""


@dataclass
class Result:
    code: int
    out: str
    err: str


def invoke(*args: str) -> Result:
    """`factory ARGS...` in this process, as the console script runs it. Unlike the `cli`
    fixture it needs no capsys, so session fixtures and forked children can use it."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
        except SystemExit as exc:
            code = int(exc.code or 0)
    if code and args[0] == "generate":
        # A failed generate() holds its run's lock until its frames are collected (see
        # test_kill_points' xfail test); a failed process holds nothing, nor may this one.
        gc.collect()
    return Result(code, out.getvalue(), err.getvalue())


def ok(result: Result) -> Result:
    assert result.code == 0, result.err
    return result


def one_line(result: Result, fragment: str = "") -> None:
    """The command failed with exit 1 and one line that starts with `error: ` (besides
    progress and warnings)."""
    assert result.code == 1, (result.code, result.err)
    said = ("progress:", "warning:", "WARNING:")
    lines = [line for line in result.err.splitlines() if not line.startswith(said)]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.err
    assert fragment in lines[0], lines[0]


def lines_of(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def dialogues(path: Path) -> list[str]:
    """The dialogues of a run, in id order, without the seconds each took (a timing, the one
    thing two runs of one config differ in)."""
    rows = [json.loads(line) for line in lines_of(path)]
    for row in rows:
        del row["generation"]["seconds"]
    return sorted(json.dumps(row, sort_keys=True) for row in rows)


@dataclass
class World:
    """Clean inputs and the results of clean runs."""

    root: Path
    recipe: str
    bank: str  # scenarios to generate from (sampling them costs seconds in every run)
    run: Path  # generate -n N --seed 4
    big: Path  # generate -n BIG --seed 4
    other: Path  # another run: another input for filter
    filtered: Path  # filter run
    datasets: Path  # curate run: esc v0.1.0
    exported: Path  # export esc v0.1.0, messages
    esconv: Path  # export esc v0.1.0 --format esconv: an ESConv-style file to import
    imported: Path  # import esconv of it

    def generate(self, out: Path, n: int = N, seed: int = 4) -> list[str]:
        size = ["-n", str(n), "--seed", str(seed), "--scenarios", self.bank]
        return ["generate", "--dry-run", *size, "--out", str(out)]

    def filter(self, source: Path, out: Path) -> list[str]:
        return ["filter", str(source), "--out", str(out), "--recipe", self.recipe]

    def curate(self, root: Path, source: Path | None = None) -> list[str]:
        source = source or self.run
        return ["curate", str(source), "--name", "esc", "--root", str(root), "-r", self.recipe]

    def export(self, out: Path, root: Path | None = None) -> list[str]:
        root = root or self.datasets
        return ["export", "esc", "v0.1.0", "--root", str(root), "--out", str(out)]

    def import_(self, out: Path) -> list[str]:
        return ["import", "esconv", str(self.esconv), "--out", str(out)]


def make_world(root: Path) -> World:
    (root / "cheap.yaml").write_text(CHEAP)
    bank = root / "scenarios.jsonl"
    drawn = SampledScenarios().scenarios(BIG, seed=4)
    bank.write_text("".join(s.model_dump_json(exclude_none=True) + "\n" for s in drawn))
    w = World(
        root,
        str(root / "cheap.yaml"),
        str(bank),
        *(root / name for name in ("run", "big", "other", "filtered", "datasets")),
        *(root / name for name in ("exported.jsonl", "esconv.json", "imported.jsonl")),
    )
    ok(invoke(*w.generate(w.run)))
    ok(invoke(*w.generate(w.big, n=BIG)))
    ok(invoke(*w.generate(w.other, n=4, seed=5)))
    ok(invoke(*w.filter(w.run, w.filtered)))
    ok(invoke(*w.curate(w.datasets)))
    ok(invoke(*w.export(w.exported)))
    ok(invoke(*w.export(w.esconv)[:-2], "--format", "esconv", "--out", str(w.esconv)))
    ok(invoke(*w.import_(w.imported)))
    return w


def one_line_or_ok(result: Result) -> bool:
    """True when the command completed; otherwise it said one line (and no traceback)."""
    if result.code == 0:
        return True
    assert result.code == 1, result.err
    lines = [line for line in result.err.splitlines() if line.startswith(("error:", "Trace"))]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.err
    return False


def hidden(folder: Path) -> list[str]:
    """What a crash may leave behind: hidden files and folders anywhere under `folder` (a
    run's own .lock aside: it stays by design)."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob(".*") if p.name != ".lock")


def check_run_after_fault(
    world: World, run: Path, args: list[str], reference: Path, label: str
) -> None:
    """After a generate was killed or failed: the manifest says complete only over every dialogue; curate
    and filter read the run and warn that it is unfinished; a rerun completes it to exactly
    the reference run."""
    clean = dialogues(reference / "dialogues.jsonl")
    manifest = run / "manifest.json"
    status = json.loads(manifest.read_text())["status"] if manifest.is_file() else None
    if status == "complete":  # a reader trusts this word: it must be true
        assert dialogues(run / "dialogues.jsonl") == clean, label
    scratch = run.parent / "readers"
    for reader in (world.curate(scratch, run), world.filter(run, scratch / "filtered")):
        seen = invoke(*reader)
        if one_line_or_ok(seen) and status != "complete":
            assert "warning:" in seen.err and "not complete" in seen.err, (label, reader[0])
    shutil.rmtree(scratch, ignore_errors=True)
    rerun = invoke(*args)
    assert rerun.code == 0, (label, rerun.err)
    assert dialogues(run / "dialogues.jsonl") == clean, label
    done = json.loads(manifest.read_text())
    assert done["status"] == "complete", label
    assert done["counts"]["dialogues"] == len(clean), label
    assert hidden(run) == [], label


FilterSet = tuple[str, list[str], list[str], dict[str, int]]


def filter_set(out: Path) -> FilterSet:
    """A filter --out as one set: (input, kept lines, rejected lines, counts); the report's
    counts must agree with the files, or the set is a mix."""
    report = json.loads((out / "report.json").read_text())
    kept, rejected = lines_of(out / "kept.jsonl"), lines_of(out / "rejected.jsonl")
    counts = report["counts"]
    assert (counts["kept"], counts["rejected"]) == (len(kept), len(rejected))
    assert sorted(p.name for p in out.iterdir()) == ["kept.jsonl", "rejected.jsonl", "report.json"]
    return report["input"], kept, rejected, counts


def version_data(folder: Path) -> dict[str, str]:
    """A version's data files as its manifest lists them, each checked against the file."""
    manifest = json.loads((folder / "manifest.json").read_text())
    for relative, entry in manifest["data_files"].items():
        digest = hashlib.sha256((folder / relative).read_bytes()).hexdigest()
        assert digest == entry["sha256"], relative
    return {k: v["sha256"] for k, v in manifest["data_files"].items()}


def listed(root: Path) -> list[str]:
    """The versions `factory versions esc` lists (none: no dataset yet)."""
    result = invoke("versions", "esc", "--root", str(root))
    if result.code == 1 and "no dataset 'esc'" in result.err:
        return []
    ok(result)
    return [line.split()[0] for line in result.out.splitlines()[1:]]


@functools.cache
def whole_version(reference: Path) -> tuple[dict[str, str], bytes]:
    """A clean version's data files and its export: what a version made by the same command
    must hold."""
    exported = reference.parents[2] / f"{reference.parents[1].name}-{reference.name}.jsonl"
    ok(
        invoke(
            "export",
            "esc",
            reference.name,
            "--root",
            str(reference.parents[1]),
            "-o",
            str(exported),
        )
    )
    return version_data(reference), exported.read_bytes()


def check_versions_after_fault(args: list[str], root: Path, reference: Path, label: str) -> None:
    """After a curate was killed or failed: every version listed is whole (its files are the ones its
    manifest names, and the reference version's) and exports; a rerun adds the next version,
    equal to the reference, and leaves nothing hidden behind."""
    clean, clean_export = whole_version(reference)
    versions = listed(root)
    exported = root.parent / "exported.jsonl"
    for version in versions:
        assert version_data(root / "esc" / version) == clean, (label, version)
        ok(invoke("export", "esc", version, "--root", str(root), "--out", str(exported)))
        assert exported.read_bytes() == clean_export, label
    rerun = invoke(*args)
    assert rerun.code == 0, (label, rerun.err)
    after = listed(root)
    assert after == [*versions, f"v0.{len(versions) + 1}.0"], (label, versions, after)
    assert version_data(root / "esc" / after[-1]) == clean, label
    assert hidden(root) == [], label
    # Readable by whoever may read the datasets folder, not by its owner only.
    assert (root / "esc" / after[-1]).stat().st_mode == root.stat().st_mode, label
