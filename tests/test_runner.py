"""Running many dialogues: resume, crash safety, manifest, on the scripted backend and over HTTP."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from factory.config import load_config
from factory.errors import RunDirError
from factory.fake_openai import FakeOpenAIServer
from factory.roleplay import dialogue_id
from factory.runner import generate
from factory.scenarios import BuiltinSampler


def ids_in(path: Path) -> list[str]:
    return [json.loads(line)["id"] for line in path.read_text().splitlines() if line.strip()]


def expected_ids(n: int, seed: int = 7) -> set[str]:
    return {dialogue_id(s.id, seed) for s in BuiltinSampler().scenarios(n, seed)}


async def test_generate_writes_dialogues_and_manifest(config, out_dir):
    report = await generate(config, out_dir)
    assert report.written == 4 and report.already_done == 0
    assert set(ids_in(out_dir / "dialogues.jsonl")) == expected_ids(4)
    manifest = json.loads((out_dir / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["counts"]["dialogues"] == 4
    assert manifest["usage"]["calls"] == report.usage.calls > 0
    assert manifest["config"]["seed"] == 7
    assert set(manifest["prompt_hashes"]) == {"seeker", "counselor", "supporter"}


async def test_rerun_skips_finished_and_extends(config, out_dir):
    await generate(config, out_dir)
    before = (out_dir / "dialogues.jsonl").read_text()
    again = await generate(config, out_dir)
    assert again.written == 0 and again.already_done == 4
    assert (out_dir / "dialogues.jsonl").read_text() == before
    bigger = await generate(config.model_copy(update={"n": 6}), out_dir)
    assert bigger.written == 2
    ids = ids_in(out_dir / "dialogues.jsonl")
    assert len(ids) == len(set(ids)) == 6
    assert (out_dir / "dialogues.jsonl").read_text().startswith(before)
    manifest = json.loads((out_dir / "manifest.json").read_text())
    assert [s["written"] for s in manifest["sessions"]] == [4, 0, 2]
    assert manifest["counts"]["dialogues"] == 6


async def test_same_config_gives_identical_files(config, tmp_path):
    await generate(config.model_copy(update={"concurrency": 1}), tmp_path / "a")
    await generate(config.model_copy(update={"concurrency": 3}), tmp_path / "b")

    def lines(run: Path) -> list[dict]:
        rows = [json.loads(line) for line in (run / "dialogues.jsonl").read_text().splitlines()]
        for row in rows:
            row["generation"].pop("seconds")
        return sorted(rows, key=lambda r: r["id"])

    assert lines(tmp_path / "a") == lines(tmp_path / "b")


async def test_torn_last_line_is_dropped_and_redone(config, out_dir, caplog):
    await generate(config, out_dir)
    path = out_dir / "dialogues.jsonl"
    full = path.read_text().splitlines(keepends=True)
    path.write_text("".join(full[:2]) + full[2][: len(full[2]) // 2])  # crash mid-write
    report = await generate(config, out_dir)
    assert "torn last line" in caplog.text
    assert report.written == 2
    ids = ids_in(path)
    assert len(ids) == len(set(ids)) == 4


async def test_damage_before_the_last_line_stops_the_run(config, out_dir):
    await generate(config, out_dir)
    path = out_dir / "dialogues.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0] + "{garbage\n" + "".join(lines[1:]))
    with pytest.raises(RunDirError, match=r"dialogues.jsonl:2"):
        await generate(config, out_dir)


async def test_other_config_in_same_dir_is_refused(config, out_dir):
    await generate(config, out_dir)
    with pytest.raises(RunDirError, match="another config"):
        await generate(config.model_copy(update={"seed": 99}), out_dir)


def test_sigkill_mid_run_then_resume_gives_exact_ids(tmp_path):
    """Kill a real `factory generate` process mid-run, rerun it, check the id set."""
    out = tmp_path / "run"
    n = 24
    with FakeOpenAIServer(latency=0.03) as server:
        cmd = [
            sys.executable,
            "-m",
            "factory",
            "generate",
            "--backend",
            "openai",
            "--base-url",
            server.url,
            "-n",
            str(n),
            "--out",
            str(out),
            "--concurrency",
            "3",
        ]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        path = out / "dialogues.jsonl"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if path.exists() and len(path.read_bytes().splitlines()) >= 4:
                break
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        partial = ids_in(path)
        assert 4 <= len(partial) < n, "the run must be killed mid-way"
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["status"] == "running"  # never passed off as complete
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"({len(partial)} already there)" in done.stdout
    ids = ids_in(path)
    assert len(ids) == len(set(ids)) == n
    assert set(ids) == expected_ids(n)
    assert ids[: len(partial)] == partial
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"


async def test_api_key_never_lands_on_disk(out_dir, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret-123")
    with FakeOpenAIServer() as server:
        cfg = load_config(None, {"backend.kind": "openai", "backend.base_url": server.url, "n": 2})
        await generate(cfg, out_dir)
        assert server.headers[0]["Authorization"] == "Bearer sk-very-secret-123"
    for file in out_dir.iterdir():
        assert "sk-very-secret-123" not in file.read_text()
