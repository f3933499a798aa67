"""Clean runs of every writing command on small dry-run data, made once per session: the
reference that the fault tests (test_faults, test_kill_points) compare what is left after a
crash, a full disk or a read-only target against."""

from __future__ import annotations

import contextlib
import gc
import io
import json
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
    """The command failed with exit 1 and one line that starts with `error: `."""
    assert result.code == 1, (result.code, result.err)
    lines = [line for line in result.err.splitlines() if not line.startswith("progress:")]
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
