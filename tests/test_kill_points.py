"""Kill points: every rename that `generate --dry-run`, `filter`, `curate`, `export` and
`import esconv` make is a place where a crash may land. Each command is crashed at each of
them, just before and just after the rename, in two ways: in this process by an exception
that no `except Exception` swallows (cleanup code runs, as on Ctrl-C), and in a forked child
that ends on the spot (nothing runs after it, as on SIGKILL). Then what is left is read the
way the next command reads it, and the command is run again: it completes with exactly a
clean run's result or says one line, and no reader takes a partial set for a complete one.
Real SIGKILLs at random moments of `generate` and `curate` processes close the file."""

from __future__ import annotations

import contextlib
import errno
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from clean_runs import (
    BIG,
    FilterSet,
    check_run_after_fault,
    check_versions_after_fault,
    filter_set,
    hidden,
    invoke,
    listed,
    ok,
    one_line,
)

KILLED = 137  # what a shell reports for SIGKILL


class Killed(BaseException):
    """A crash at a kill point: a BaseException, so no `except Exception` swallows it."""


@contextlib.contextmanager
def renames(kill_at: int = 0, before: bool = False, hard: bool = False) -> Iterator[list[str]]:
    """Records the target of every os.rename / os.replace (Path.rename and Path.replace go
    through them); with `kill_at`, crashes just before or just after that one (counting from
    1): raises Killed, or with `hard` ends the process on the spot."""
    seen: list[str] = []

    def die() -> None:
        if hard:
            os._exit(KILLED)
        raise Killed

    def hooked(real: Callable[..., None]) -> Callable[..., None]:
        def call(src: str, dst: str, *args: object, **kwargs: object) -> None:
            seen.append(os.fspath(dst))
            if len(seen) == kill_at and before:
                die()
            real(src, dst, *args, **kwargs)
            if len(seen) == kill_at:
                die()

        return call

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "rename", hooked(os.rename))
        patch.setattr(os, "replace", hooked(os.replace))
        yield seen


def crash(args: list[str], at: int, before: bool, hard: bool) -> None:
    """Runs `args` and crashes it at rename `at`: in this process, or in a forked child that
    ends there (nothing after the kill point runs: no `finally`, no buffered write)."""
    if not hard:
        try:
            with renames(at, before):
                invoke(*args)
            pytest.fail(f"rename {at} was never reached")
        except Killed:
            pass
        return
    child = os.fork()
    if child == 0:  # never returns into pytest
        try:
            quiet = os.open(os.devnull, os.O_WRONLY)
            os.dup2(quiet, 1)
            os.dup2(quiet, 2)
            with renames(at, before, hard=True):
                invoke(*args)
        finally:
            os._exit(3)  # the kill point was never reached
    deadline = time.monotonic() + 60
    while not (ended := os.waitpid(child, os.WNOHANG))[0]:
        if time.monotonic() > deadline:
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
            pytest.fail(f"the child crashed at rename {at} hung")
        time.sleep(0.002)
    assert os.waitstatus_to_exitcode(ended[1]) == KILLED, f"rename {at} was never reached"


def each_kill_point(
    args: list[str],
    prepare: Callable[[], None],
    after_crash: Callable[[str], None],
    hard: bool,
    expected: int,
) -> None:
    """For every rename a clean run of `args` makes, before and after it: a fresh
    `prepare()`, a crash there, then `after_crash(label)` checks what the next commands see."""
    prepare()
    with renames() as points:
        ok(invoke(*args))
    assert len(points) == expected, points  # a new rename is a new kill point: cover it
    for at in range(1, len(points) + 1):
        for before in (True, False):
            label = f"{'before' if before else 'after'} rename {at} ({points[at - 1]})"
            prepare()
            crash(args, at, before, hard)
            after_crash(label)


def fresh(folder: Path) -> Callable[[], None]:
    def prepare() -> None:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()

    return prepare


HOW = pytest.mark.parametrize("hard", [False, True], ids=["exception", "exit"])


@HOW
def test_generate_killed_at_each_rename_resumes_to_the_clean_run(world, tmp_path, hard):
    run = tmp_path / "run"
    args = world.generate(run)

    def after_crash(label: str) -> None:
        check_run_after_fault(world, run, args, world.run, label)

    each_kill_point(args, fresh(tmp_path), after_crash, hard, expected=2)


@HOW
@pytest.mark.parametrize("earlier", [False, True], ids=["new-out", "over-another-set"])
def test_filter_killed_at_each_rename_leaves_one_whole_set(world, tmp_path, hard, earlier):
    out = tmp_path / "filtered"
    args = world.filter(world.run, out)
    clean = filter_set(world.filtered)
    previous: FilterSet | None = None

    def prepare() -> None:
        nonlocal previous
        fresh(tmp_path)()
        if earlier:
            ok(invoke(*world.filter(world.other, out)))
            previous = filter_set(out)

    def after_crash(label: str) -> None:
        # Interrupted, it leaves the previous set; killed between its two renames, no set.
        assert out.exists() or not (earlier and not hard), label
        if out.exists():
            # What is at --out is one whole set, the new one or the previous: never a report
            # of one input beside the kept dialogues of another.
            assert filter_set(out) in (clean, previous), label
            ok(invoke(*world.curate(tmp_path / "datasets", out / "kept.jsonl")))
        rerun = invoke(*args)
        assert rerun.code == 0, (label, rerun.err)
        assert filter_set(out) == clean, label
        assert hidden(tmp_path) == [], label

    each_kill_point(args, prepare, after_crash, hard, expected=2 if earlier else 1)


@HOW
@pytest.mark.parametrize("earlier", [False, True], ids=["first", "next"])
def test_curate_killed_at_each_rename_saves_a_whole_version_or_none(world, tmp_path, hard, earlier):
    root = tmp_path / "datasets"
    args = world.curate(root)

    def prepare() -> None:
        fresh(tmp_path)()
        if earlier:
            shutil.copytree(world.datasets, root)

    def after_crash(label: str) -> None:
        check_versions_after_fault(args, root, world.datasets / "esc" / "v0.1.0", label)

    # The rejected/ staging folder, two parquet files per non-empty split (two here: the
    # default and the strategy config; the ESConv exports are written in place inside the
    # hidden folder), the version folder.
    each_kill_point(args, prepare, after_crash, hard, expected=6)


def test_a_curate_is_refused_while_another_builds_the_dataset(world, tmp_path):
    """The lock that makes a killed curate's folder safe to remove: while a curate of `esc`
    holds it, another one says one line and removes nothing."""
    import fcntl

    root = tmp_path / "datasets"
    building = root / "esc" / ".v0.1.0.tmp-running"
    building.mkdir(parents=True)
    with (root / ".esc.curate-lock").open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        one_line(invoke(*world.curate(root)), "another factory curate is writing dataset 'esc'")
    assert building.is_dir()
    ok(invoke(*world.curate(root)))  # and once it is gone, what it left is stale
    assert sorted(p.name for p in (root / "esc").iterdir()) == ["v0.1.0"]


def test_a_version_folder_without_its_manifest_is_never_read(world, tmp_path):
    """A version folder cut short (a copy, a sync, a hand) is not a version: not listed, not
    exported, and its tag is never reused."""
    root = tmp_path / "datasets"
    shutil.copytree(world.datasets, root)
    shutil.copytree(root / "esc" / "v0.1.0", root / "esc" / "v0.2.0")
    (root / "esc" / "v0.2.0" / "manifest.json").unlink()
    assert listed(root) == ["v0.1.0"]
    export = ["export", "esc", "v0.2.0", "--root", str(root), "--out", str(tmp_path / "x")]
    one_line(invoke(*export), "has no version v0.2.0 (it has: v0.1.0)")
    assert "v0.3.0" in ok(invoke(*world.curate(root))).out


@HOW
@pytest.mark.parametrize("command", ["export", "import"])
def test_a_file_written_whole_or_not_at_all(world, tmp_path, hard, command):
    target = tmp_path / "out.jsonl"
    args = world.export(target) if command == "export" else world.import_(target)
    clean = (world.exported if command == "export" else world.imported).read_bytes()
    old = b'{"an": "earlier file"}\n'

    def prepare() -> None:
        fresh(tmp_path)()
        target.write_bytes(old)

    def after_crash(label: str) -> None:
        assert target.read_bytes() in (old, clean), label
        ok(invoke(*args))
        assert target.read_bytes() == clean, label
        assert hidden(tmp_path) == [], label

    each_kill_point(args, prepare, after_crash, hard, expected=1)


@pytest.mark.parametrize("command", ["generate", "curate"])
def test_sigkill_at_random_moments_of_a_real_process(world, tmp_path, command):
    """A real `python -m factory` process, SIGKILLed at seeded random moments of its run:
    after each kill the same checks as at the kill points hold."""
    rng = random.Random(f"sigkill-{command}")
    if command == "generate":
        target = tmp_path / "run"
        args = world.generate(target, n=BIG)
    else:
        target = tmp_path / "datasets"
        args = world.curate(target, world.big)
    cmd = [sys.executable, "-m", "factory", *args]
    started = time.monotonic()
    subprocess.run(cmd, capture_output=True, check=True, timeout=120)
    span = time.monotonic() - started  # imports, then the work: kills land anywhere in it
    reference = tmp_path / "reference"
    target.rename(reference)
    for round in range(4):
        shutil.rmtree(target, ignore_errors=True)
        process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 1.0) * span)
        process.kill()
        process.wait(timeout=60)
        label = f"round {round}: exit {process.returncode}"
        if command == "generate":
            check_run_after_fault(world, target, args, reference, label)
        else:
            check_versions_after_fault(args, target, reference / "esc" / "v0.1.0", label)


async def test_a_generate_that_fails_writing_its_manifest_releases_the_folder(
    world, config, out_dir, monkeypatch
):
    from factory.runs.generate import generate
    from factory.runs.run_dir import RunDir
    from factory.scenarios.bank import ScenarioBank

    def full_disk(self: RunDir, manifest: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(self.manifest_path))

    monkeypatch.setattr(RunDir, "write_manifest", full_disk)
    with pytest.raises(OSError) as failed:  # kept, as a caller that logs it keeps it
        await generate(config, out_dir, source=ScenarioBank(Path(world.bank)))
    assert failed.value.errno == errno.ENOSPC
    assert not RunDir(out_dir).in_use()
