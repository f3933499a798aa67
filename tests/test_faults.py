"""The machine says no: a full disk (stood in for by a file-size limit, which needs no
privileges, at several sizes so that it strikes different writes; and, where this process
may mount one, a really full tmpfs at every size up to what the command needs), a
read-only target, a file where a folder belongs. Each command says one line and exits 1;
what it leaves reads as the previous result or as nothing, never as a partial set taken for
complete; and the same command completes to a clean run's result once the machine allows."""

from __future__ import annotations

import errno
import os
import resource
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from clean_runs import (
    Result,
    World,
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


@pytest.mark.parametrize("command", ["export", "import"])
def test_export_and_import_on_a_full_disk_keep_the_earlier_file(world, tmp_path, command):
    target = tmp_path / "out.jsonl"
    target.write_text("an earlier file\n")
    args = world.export(target) if command == "export" else world.import_(target)
    one_line(factory(*args, limit=2_000), FULL)
    assert tree(tmp_path) == {"out.jsonl": b"an earlier file\n"}
    ok(invoke(*args))
    clean = world.exported if command == "export" else world.imported
    assert target.read_bytes() == clean.read_bytes()


def test_a_name_too_long_is_one_line(world, tmp_path):
    version = "v" + "1" * 300 + ".0.0"
    one_line(invoke(*world.curate(tmp_path), "--version", version), "too long")
    assert list(tmp_path.iterdir()) == []


def test_an_input_output_error_is_one_line_that_does_not_say_writing():
    from factory.errors import os_fault_line

    # EIO comes from reads too (a failing disk, a network mount gone): no "writing" in it.
    line = os_fault_line(OSError(errno.EIO, "Input/output error", "/mnt/a.jsonl"))
    assert line is not None and line.startswith("an input/output error")
    assert " on /mnt/a.jsonl: check the device" in line and "writing" not in line
    assert os_fault_line(OSError(errno.ENOSPC, "No space", "/f")) == (
        "no space left on the device writing /f: free some space or write elsewhere,"
        " then rerun the same command"
    )
    assert os_fault_line(OSError(errno.ECONNRESET, "reset")) is None


class Tmpfs:
    """A tmpfs mounted on a folder of its own: a disk that really fills up, or that is
    really read-only (which root cannot write either)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def mount(self, size: int, read_only: bool = False) -> None:
        flags = f"size={size},mode=755" + (",ro" if read_only else "")
        remount = "remount," if os.path.ismount(self.path) else ""
        command = ["mount", "-o", remount + flags]
        command += [str(self.path)] if remount else ["-t", "tmpfs", "tmpfs", str(self.path)]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            why = done.stderr.strip() or f"exit {done.returncode}"
            pytest.skip(f"cannot mount a tmpfs here ({why}): that needs CAP_SYS_ADMIN")

    def empty(self) -> None:
        for child in self.path.iterdir():
            shutil.rmtree(child) if child.is_dir() else child.unlink()

    def unmount(self) -> None:
        if os.path.ismount(self.path):
            subprocess.run(["umount", "-l", str(self.path)], check=True)


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Tmpfs]:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root: the file-size limit above stands in for it")
    disk = Tmpfs(tmp_path / "disk")
    disk.path.mkdir()
    try:
        yield disk
    finally:
        disk.unmount()


PAGE = 4096
ENOSPC = "no space left on the device"


def fill_up(disk: Tmpfs, args: list[str], check: Callable[[int], None], step: int) -> int:
    """Runs `args` on a disk `step` bytes bigger each time, from one page until it fits: each
    run stops at a later write, says one line, and `check(size)` reads what it left (with
    room to spare again). Returns how many sizes failed."""
    size = PAGE
    while True:
        disk.empty()
        disk.mount(size)
        result = invoke(*args)
        if result.code == 0:
            return (size - PAGE) // step
        one_line(result, ENOSPC)
        disk.mount(64 * 1024 * 1024)
        check(size)
        size += step
        assert size < 1024 * 1024, "the command never fit"


def test_generate_on_a_really_full_disk_at_every_size(world, tmpfs):
    run = tmpfs.path / "run"
    args = world.generate(run)

    def check(size: int) -> None:
        check_run_after_fault(world, run, args, world.run, f"{size} bytes")

    # The first manifest, then each dialogue (~5 KB) in turn
    assert fill_up(tmpfs, args, check, step=2 * PAGE) >= 4


def test_filter_on_a_really_full_disk_at_every_size(world, tmpfs):
    out = tmpfs.path / "filtered"
    args = world.filter(world.run, out)

    def check(size: int) -> None:
        assert not out.exists(), size
        assert hidden(tmpfs.path) == [], size
        ok(invoke(*args))
        assert filter_set(out) == filter_set(world.filtered), size

    assert fill_up(tmpfs, args, check, step=PAGE) >= 4


def test_curate_on_a_really_full_disk_at_every_size(world, tmpfs):
    root = tmpfs.path / "datasets"
    args = world.curate(root)

    def check(size: int) -> None:
        assert listed(root) == [] and hidden(tmpfs.path) == [], size
        check_versions_after_fault(args, root, world.datasets / "esc" / "v0.1.0", f"{size}")

    # kept.jsonl and rejected.jsonl first, then parquet, ESConv JSON, card and manifest
    assert fill_up(tmpfs, args, check, step=2 * PAGE) >= 8


@pytest.fixture
def read_only(tmp_path: Path, world: World) -> Iterator[Path]:
    """A folder holding a finished run, a filter set and a dataset, which this process
    cannot write to: write permission taken away, or for root (whom permissions do not
    stop) a read-only tmpfs."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    disk = Tmpfs(folder) if os.geteuid() == 0 else None
    try:
        if disk is not None:
            disk.mount(16 * 1024 * 1024)
        for name in ("run", "filtered", "datasets"):
            shutil.copytree(world.root / name, folder / name)
        if disk is not None:
            disk.mount(16 * 1024 * 1024, read_only=True)
        else:
            for path in (folder, *folder.rglob("*")):
                path.chmod(path.stat().st_mode & ~0o222)
        yield folder
    finally:
        if disk is not None:
            disk.unmount()
        else:
            for path in (folder, *folder.rglob("*")):
                path.chmod(path.stat().st_mode | 0o200)


def test_read_only_targets_say_one_line_and_leave_nothing(world, read_only, tmp_path):
    before = tree(read_only)
    refused = [
        world.generate(read_only / "new-run"),
        world.generate(read_only / "run"),  # the same run again: nothing to add, yet refused
        world.filter(world.run, read_only / "new-filtered"),
        world.filter(world.run, read_only / "filtered"),
        world.curate(read_only / "new-datasets"),
        world.curate(read_only / "datasets"),
        world.export(read_only / "train.jsonl"),
        world.import_(read_only / "esconv.jsonl"),
    ]
    for args in refused:
        result = invoke(*args)
        one_line(result)
        assert ".partial" not in result.err, result.err  # the target is named, not a temp file
        assert tree(read_only) == before, args
    # What is there still reads as it was.
    assert filter_set(read_only / "filtered") == filter_set(world.filtered)
    ok(invoke(*world.export(tmp_path / "train.jsonl", read_only / "datasets")))
    assert (tmp_path / "train.jsonl").read_bytes() == world.exported.read_bytes()
    assert listed(read_only / "datasets") == ["v0.1.0"]


def test_a_finished_run_on_read_only_storage_can_be_filtered(world, read_only, tmp_path):
    ok(invoke(*world.filter(read_only / "run", tmp_path / "filtered")))


def test_a_file_where_a_folder_belongs_and_a_folder_where_a_file_belongs(world, tmp_path):
    file, folder = tmp_path / "a-file", tmp_path / "a-folder"
    file.write_text("mine\n")
    folder.mkdir()
    wrong = {
        "exists and is not a directory": world.generate(file),
        "is a file": world.filter(world.run, file),
        "cannot create a folder": world.curate(file),
        "cannot write": world.export(folder),
        "is a directory": world.import_(folder),
    }
    for fragment, args in wrong.items():
        one_line(invoke(*args), fragment)
    assert tree(tmp_path) == {"a-file": b"mine\n", "a-folder": None}
