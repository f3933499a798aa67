"""`factory generate --ray` on a local Ray (2 CPUs): the same dialogues as one process,
resume after a budget stop, and an unreachable cluster as one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")


def dialogues(path: Path) -> dict[str, dict]:
    out = {}
    for line in (path / "dialogues.jsonl").read_text().splitlines():
        d = json.loads(line)
        d["generation"].pop("seconds")  # wall time differs; everything else must not
        out[d["id"]] = d
    return out


def test_ray_gives_the_same_dialogues_as_one_process_and_resumes(cli, tmp_path):
    # With the run-level mix control on, a dialogue depends on those finished before it, so
    # only a run without it can be compared dialogue by dialogue.
    config = tmp_path / "c.yaml"
    config.write_text("roleplay: {mix_control: false}\n")
    common = ("generate", "--dry-run", "-n", "24", "--seed", "3", "--config", str(config))
    single = cli(*common, "-o", str(tmp_path / "one"))
    assert single.code == 0, single.err
    out = tmp_path / "ray"
    args = (*common, "-o", str(out), "--ray")
    stopped = cli(*args, "--ray-chunk", "4", "--max-tokens", "15000")
    assert stopped.code == 1 and "stopped at the token budget" in stopped.err
    partial = dialogues(out)
    assert 0 < len(partial) < 24
    resumed = cli(*args, "--ray-chunk", "5")
    assert resumed.code == 0, resumed.err
    assert f"({len(partial)} already there)" in resumed.out
    assert dialogues(out) == dialogues(tmp_path / "one")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["counts"]["dialogues"] == 24
    one = json.loads((tmp_path / "one" / "manifest.json").read_text())
    assert manifest["usage"] == one["usage"]  # usage merged from every worker's dialogues
    assert not ray.is_initialized()  # the local Ray stops with the run


def test_unreachable_ray_cluster_is_one_line_and_touches_nothing(cli, tmp_path):
    out = tmp_path / "run"
    result = cli("generate", "--dry-run", "-n", "2", "--address", "127.0.0.1:1", "-o", str(out))
    assert result.code == 1 and "cannot reach the Ray cluster at 127.0.0.1:1" in result.err
    assert result.err.count("\n") == 1 and not out.exists()
    bad = cli("generate", "--dry-run", "-n", "2", "--address", "head", "-o", str(out))
    assert bad.code == 1 and "is not HOST:PORT" in bad.err


def test_a_backend_the_workers_cannot_reach_fails_on_the_driver_first(cli, tmp_path):
    out = tmp_path / "run"
    result = cli(
        "generate",
        "--ray",
        "-b",
        "openai",
        "--model",
        "m",
        "--base-url",
        "http://127.0.0.1:9/v1",
        "-n",
        "4",
        "-o",
        str(out),
    )
    assert result.code == 1 and "cannot reach an OpenAI-compatible server" in result.err
    assert result.err.count("\n") == 1 and not out.exists()
    assert not ray.is_initialized()
