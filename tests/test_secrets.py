"""Secrets never reach a written file or stderr: by field name, and by the look of the value
wherever it stands (URL logins of any shape, Bearer values, provider key formats, long random
tokens)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from factory.secrets import REDACTED, scrub, scrub_text
from factory.testing.fake_openai import FakeReply

PASSWORD = "hunter2Secret"
TOKEN = "sk-live0TOKEN0abc123"


@pytest.mark.parametrize(
    "text",
    [
        f"http://admin:{PASSWORD}@127.0.0.1:8000/v1",
        f"http://{TOKEN}@gpu-box:8000/v1",
        f"Authorization: Bearer {TOKEN}",
        "hf_AbCdEfGhIjKlMnOpQrStUv",
        "export KEY=aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z",
    ],
)
def test_credentials_are_cut_out_of_any_text(text):
    cleaned = scrub_text(text)
    assert REDACTED in cleaned
    for secret in (PASSWORD, TOKEN, "AbCdEfGhIjKl", "aB3dE5fG7hJ9"):
        assert secret not in cleaned


@pytest.mark.parametrize(
    "text",
    [
        "3c445effcfee417de261af5c3a378a5761fc782385168d153c20dd5f59c8f9d0",  # a sha256
        "dlg-3ca841818feb2945",
        "I keep thinking about her and it still hurts.",
        "http://127.0.0.1:8000/v1",
    ],
)
def test_hashes_ids_prose_and_plain_urls_are_left_alone(text):
    assert scrub_text(text) == text


def test_values_under_plain_names_are_caught_by_their_look():
    config = {
        "llm_args": {"auth": f"Bearer {TOKEN}", "hf": "hf_AbCdEfGhIjKlMnOp", "key": "plain"},
        "engine_args": {"tensor_parallel_size": 2},
        "base_urls": [f"http://u:{PASSWORD}@a/v1", f"http://{TOKEN}@b/v1"],
        "max_tokens": 128,
    }
    text = json.dumps(scrub(config))
    for secret in (TOKEN, "hf_AbCdEfGhIjKlMnOp", "plain", PASSWORD):
        assert secret not in text
    assert '"tensor_parallel_size": 2' in text and '"max_tokens": 128' in text


def test_a_refused_request_keeps_the_url_login_out_of_the_run_and_stderr(
    cli, tmp_path, fake_server, monkeypatch
):
    # The server refuses every request (HTTP 400): the failure record quotes the request's
    # URL, which carries a login.
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    fake_server.enqueue(*[FakeReply(status=400, body='{"error": {"message": "bad request"}}')] * 20)
    url = fake_server.url.replace("http://", f"http://admin:{PASSWORD}@")
    out = tmp_path / "run"
    result = cli(
        "generate", "-b", "openai", "--base-url", url, "-m", "m", "-n", "2", "-o", str(out)
    )
    assert PASSWORD not in result.err and PASSWORD not in result.out
    written = {p.name: p.read_text() for p in Path(out).iterdir() if p.is_file()}
    assert "failures.jsonl" in written  # refused before a word: kept for the next rerun
    for name, text in written.items():
        assert PASSWORD not in text, name


def test_a_url_login_together_with_an_api_key_is_one_line(cli, tmp_path, fake_server, monkeypatch):
    # aiohttp refuses to send both; that used to be a traceback and a run folder with a lock.
    monkeypatch.setenv("OPENAI_API_KEY", "sk-live0KEY0abc123456")
    url = fake_server.url.replace("http://", f"http://admin:{PASSWORD}@")
    out = tmp_path / "run"
    result = cli(
        "generate", "-b", "openai", "--base-url", url, "-m", "m", "-n", "1", "-o", str(out)
    )
    assert result.code == 1
    assert result.err.startswith("error: backend.base_url carries a login and OPENAI_API_KEY")
    assert "Traceback" not in result.err and PASSWORD not in result.err
    assert not out.exists() or not (out / "dialogues.jsonl").exists()


PLANTED = {
    "key": "sk-live0PLANTED0key0abcd1234efgh",
    "openai": "sk-PLANTED0openai0wxyz98765",
    "hf": "hf_PLANTEDtokenAbCdEfGh123456",
    "password": "PLANTED0pa55w0rd0Zq9",
}


def test_no_planted_secret_reaches_any_file_or_stream(cli, tmp_path, fake_server, monkeypatch):
    """A run with a key from the environment, a run with a login in its URL, then filter,
    curate, eval and export of them: no planted secret in any file written or any line
    printed."""
    monkeypatch.setenv("MY_KEY", PLANTED["key"])
    monkeypatch.setenv("OPENAI_API_KEY", PLANTED["openai"])
    monkeypatch.setenv("HF_TOKEN", PLANTED["hf"])
    model = "m"
    with_key = tmp_path / "with_key.yaml"
    with_key.write_text(
        f"backend: {{kind: openai, model: {model}, base_urls: ['{fake_server.url}'],"
        " api_key_env: MY_KEY}\n"
        f"budget: {{prices: {{{model}: {{prompt: 1.0, completion: 2.0}}}}}}\n"
    )
    login_url = fake_server.url.replace("http://", f"http://admin:{PLANTED['password']}@")
    with_login = tmp_path / "with_login.yaml"
    with_login.write_text(
        f"backend: {{kind: openai, model: m, base_url: '{login_url}', api_key_env: NO_SUCH_KEY}}\n"
    )
    runs, outputs = tmp_path / "runs", []
    for name, config in (("a", with_key), ("b", with_login)):
        outputs.append(cli("generate", "--config", str(config), "-n", "3", "-o", str(runs / name)))
    outputs.append(cli("filter", str(runs / "a"), "-o", str(tmp_path / "filtered")))
    root, recipe = tmp_path / "datasets", tmp_path / "lenient.yaml"
    recipe.write_text("filters:\n  - use: structure\n    min_turns: 2\n")
    outputs.append(
        cli(
            "curate",
            str(runs / "a"),
            str(runs / "b"),
            "--name",
            "esc",
            "--out",
            str(root),
            "--recipe",
            str(recipe),
            "--split",
            "1,0,0",
        )
    )
    version = root / "esc" / "v0.1.0"
    outputs.append(cli("eval", str(version), "--no-realism", "-o", str(tmp_path / "eval")))
    outputs.append(
        cli("export", "esc", "v0.1.0", "--root", str(root), "--out", str(tmp_path / "x.jsonl"))
    )
    assert all(o.code == 0 for o in outputs), [o.err for o in outputs if o.code]
    assert (version / "manifest.json").is_file() and (tmp_path / "eval" / "report.md").is_file()
    assert len(fake_server.requests) > 20, "the runs never reached the server"
    written = [p for p in tmp_path.rglob("*") if p.is_file() and not p.name.endswith(".yaml")]
    assert len(written) > 15
    for secret in PLANTED.values():
        for output in outputs:
            assert secret not in output.out and secret not in output.err
        for path in written:
            assert secret.encode() not in path.read_bytes(), (secret, path)


def test_a_key_passed_as_the_model_is_refused(cli, tmp_path):
    out = tmp_path / "run"
    result = cli("generate", "-b", "openai", "-m", PLANTED["key"], "-n", "1", "-o", str(out))
    assert result.code == 1 and result.err.count("\n") == 1
    assert "looks like an API key, not a model name" in result.err
    assert PLANTED["key"] not in result.err and not out.exists()
