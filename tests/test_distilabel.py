"""distilabel bridges: an LLM class as a backend (OpenAILLM against the fake server) and the
role-play loop as a step in a distilabel pipeline, giving the dialogues `factory generate`
gives."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

pytest.importorskip("distilabel")

from factory.testing.fake_openai import FakeOpenAIServer


def test_a_distilabel_llm_class_as_backend(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-written")
    with FakeOpenAIServer() as server:
        config = tmp_path / "c.yaml"
        config.write_text(
            "backend:\n  kind: distilabel\n  llm_class: distilabel.models.OpenAILLM\n"
            f"  llm_args: {{model: fake, base_url: '{server.url}', api_key: sk-in-config}}\n"
        )
        result = cli("generate", "-c", str(config), "-n", "3", "-o", str(tmp_path / "run"))
        assert result.code == 0, result.err
        assert server.requests and all(r["model"] == "fake" for r in server.requests)
        assert all("max_tokens" in r for r in server.requests)  # max_new_tokens mapped
    lines = (tmp_path / "run" / "dialogues.jsonl").read_text().splitlines()
    assert len(lines) == 3
    dialogue = json.loads(lines[0])
    assert dialogue["generation"]["backend"] == "distilabel"
    assert dialogue["generation"]["usage"]["prompt_tokens"] > 0  # distilabel's statistics
    manifest = (tmp_path / "run" / "manifest.json").read_text()
    assert "sk-in-config" not in manifest and "[redacted]" in manifest


def test_bad_llm_class_is_one_line(cli, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("backend:\n  kind: distilabel\n  llm_class: distilabel.models.NoSuchLLM\n")
    result = cli("generate", "-c", str(config), "-n", "1", "-o", str(tmp_path / "run"))
    assert result.code == 1 and "has no class NoSuchLLM" in result.err
    missing = tmp_path / "m.yaml"
    missing.write_text("backend:\n  kind: distilabel\n")
    result = cli("generate", "-c", str(missing), "-n", "1", "-o", str(tmp_path / "run2"))
    assert result.code == 1 and "needs backend.llm_class" in result.err


def test_the_roleplay_step_in_a_distilabel_pipeline(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("DISTILABEL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from distilabel.pipeline import Pipeline
    from distilabel.steps import LoadDataFromDicts

    from factory.runs.distilabel_step import ESCRolePlay

    bank = tmp_path / "bank.jsonl"
    assert cli("personas", "sample", "-n", "4", "--seed", "2", "-o", str(bank)).code == 0
    scenarios = [json.loads(x) for x in bank.read_text().splitlines()]
    with Pipeline(name="esc-bridge", cache_dir=str(tmp_path / "cache")) as pipeline:
        load = LoadDataFromDicts(data=[{"scenario": s} for s in scenarios])
        roleplay = ESCRolePlay(
            config={
                # Any value in `config` stays out of distilabel's cache, keys included.
                "backend": {"kind": "scripted", "model": "SECRET-IN-STEP"},
                "seed": 7,
            },
            input_batch_size=4,
        )
        load >> roleplay
    distiset = pipeline.run(use_cache=False)
    rows = list(distiset["default"]["train"])
    assert len(rows) == 4
    assert all(r["messages"][0]["role"] == "system" for r in rows)
    # The same scenarios through `factory generate` give the same dialogues.
    out = tmp_path / "run"
    assert (
        cli("generate", "--dry-run", "--scenarios", str(bank), "-n", "4", "-o", str(out)).code == 0
    )
    expected = {
        json.loads(x)["id"]: json.loads(x)["turns"]
        for x in (out / "dialogues.jsonl").read_text().splitlines()
    }
    got = {r["dialogue_id"]: json.loads(r["dialogue"])["turns"] for r in rows}
    assert got == expected
    cache = Path(os.environ["DISTILABEL_CACHE_DIR"])
    assert cache.is_dir()
    written = [p for p in cache.rglob("*") if p.is_file()]
    assert written and not any(b"SECRET-IN-STEP" in p.read_bytes() for p in written)
