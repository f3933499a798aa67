"""The machine says no: a full disk, stood in for by a file-size limit (which needs no
privileges) at several sizes, so that it strikes different writes. Each command says one
line and exits 1; what it leaves reads as the previous result or as nothing, never as a
partial set taken for complete; and the same command completes to a clean run's result
once the machine allows."""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from clean_runs import (
    Result,
    check_run_after_fault,
    check_versions_after_fault,
    filter_set,
    hidden,
    invoke,
    listed,
    ok,
    one_line,
)


def factory(*args: str, limit: int | None = None) -> Result:
    """`python -m factory ARGS...`, each file it writes capped at `limit` bytes."""

    def cap() -> None:  # Python ignores SIGXFSZ, so the write fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    done = subprocess.run(
        [sys.executable, "-m", "factory", *args],
        capture_output=True,
        text=True,
        preexec_fn=cap if limit else None,
        timeout=600,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def tree(folder: Path) -> dict[str, bytes | None]:
    """Every path under `folder`, with the bytes of each file."""
    return {
        str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None
        for p in sorted(folder.rglob("*"))
    }


FULL = "the file grew past the size"


@pytest.mark.parametrize(
    "limit", [2_000, 12_000, 24_000], ids=["first-manifest", "third-dialogue", "fifth-dialogue"]
)
def test_generate_on_a_full_disk_says_one_line_and_the_rerun_completes(world, tmp_path, limit):
    run = tmp_path / "run"
    args = world.generate(run)
    one_line(factory(*args, limit=limit), FULL)
    assert max(p.stat().st_size for p in run.iterdir()) <= limit
    check_run_after_fault(world, run, args, world.run, f"limit {limit}")


@pytest.mark.parametrize(
    ("limit", "earlier"), [(4_000, False), (20_000, True)], ids=["new-out", "over-another-set"]
)
def test_filter_on_a_full_disk_leaves_the_previous_set_or_none(world, tmp_path, limit, earlier):
    out = tmp_path / "filtered"
    if earlier:
        ok(invoke(*world.filter(world.other, out)))
    before = tree(tmp_path)
    one_line(factory(*world.filter(world.run, out), limit=limit), FULL)
    assert tree(tmp_path) == before
    ok(invoke(*world.filter(world.run, out)))
    assert filter_set(out) == filter_set(world.filtered)
    assert hidden(tmp_path) == []


@pytest.mark.parametrize(
    ("limit", "earlier"), [(4_000, False), (20_000, True)], ids=["first", "next"]
)
def test_curate_on_a_full_disk_saves_no_version(world, tmp_path, limit, earlier):
    root = tmp_path / "datasets"
    if earlier:
        shutil.copytree(world.datasets, root)
    before = listed(root)
    one_line(factory(*world.curate(root), limit=limit), FULL)
    assert listed(root) == before
    assert hidden(root) == []
    check_versions_after_fault(world.curate(root), root, world.datasets / "esc" / "v0.1.0", "")


def test_a_name_too_long_is_one_line(world, tmp_path):
    version = "v" + "1" * 300 + ".0.0"
    one_line(invoke(*world.curate(tmp_path), "--version", version), "too long")
    assert list(tmp_path.iterdir()) == []
