"""The machine says no: a full disk (stood in for by a file-size limit, which needs no
privileges), a read-only target. Each command says one line and exits 1; the next command
either completes or says why; nothing partial is read as complete."""

import json
import resource
import subprocess
import sys
from pathlib import Path

import pytest

LIMIT = 64 * 1024  # bytes any one file may reach in the limited process


def factory(*args: str, limit: int | None = None) -> subprocess.CompletedProcess[str]:
    def cap() -> None:  # Python ignores SIGXFSZ, so the write fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(
        [sys.executable, "-m", "factory", *args],
        capture_output=True,
        text=True,
        preexec_fn=cap if limit else None,
        timeout=600,
    )


def one_line(result: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if not line.startswith("progress:")]
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], lines


@pytest.fixture(scope="module")
def big_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("big") / "run"
    done = factory("generate", "--dry-run", "-n", "60", "--seed", "4", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert (out / "dialogues.jsonl").stat().st_size > 2 * LIMIT
    return out


def test_generate_on_a_full_disk_says_one_line_and_the_rerun_completes(tmp_path):
    out = tmp_path / "run"
    args = ("generate", "--dry-run", "-n", "60", "--seed", "4", "--out", str(out))
    one_line(factory(*args, limit=LIMIT), "the file grew past the size")
    assert (out / "dialogues.jsonl").stat().st_size <= LIMIT
    resumed = factory(*args)
    assert resumed.returncode == 0, resumed.stderr
    rows = [json.loads(line) for line in (out / "dialogues.jsonl").read_text().splitlines()]
    assert len(rows) == 60 and len({r["id"] for r in rows}) == 60
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"


def test_filter_on_a_full_disk_leaves_no_output(tmp_path, big_run):
    out = tmp_path / "filtered"
    one_line(factory("filter", str(big_run), "--out", str(out), limit=LIMIT), "past the size")
    assert not out.exists() or not any(out.iterdir())
    done = factory("filter", str(big_run), "--out", str(out))
    assert done.returncode == 0, done.stderr


def test_curate_on_a_full_disk_saves_no_version(tmp_path, big_run):
    root = tmp_path / "datasets"
    args = ("curate", str(big_run), "--name", "esc", "--out", str(root), "--allow-empty")
    one_line(factory(*args, limit=LIMIT), "past the size")
    assert not list(root.glob("esc/v*"))
    listed = factory("versions", "esc", "--root", str(root))
    assert "v0.1.0" not in listed.stdout
    done = factory(*args)
    assert done.returncode == 0, done.stderr
    assert (root / "esc" / "v0.1.0" / "manifest.json").is_file()


def test_a_name_too_long_is_one_line(tmp_path, big_run):
    version = "v" + "1" * 300 + ".0.0"
    args = ("curate", str(big_run), "--name", "esc", "--out", str(tmp_path), "--version", version)
    one_line(factory(*args), "too long")
