"""Running many dialogues: resume, crash safety, manifest, on the scripted backend and over HTTP."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from factory.errors import RunDirError
from factory.models import Usage
from factory.roleplay.loop import dialogue_id
from factory.runs.config import load_config
from factory.runs.generate import generate
from factory.scenarios.bank import SampledScenarios
from factory.testing.fake_openai import FakeOpenAIServer


def ids_in(path: Path) -> list[str]:
    return [json.loads(line)["id"] for line in path.read_text().splitlines() if line.strip()]


def expected_ids(n: int, seed: int = 7) -> set[str]:
    return {dialogue_id(s, seed) for s in SampledScenarios().scenarios(n, seed)}


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


async def test_a_last_line_that_lost_only_its_newline_is_ended_not_joined(config, out_dir):
    # A crash or a full disk exactly before the newline: the record is whole, the newline is
    # gone. The next run used to append to that line ('}{"id"'), breaking every later run.
    await generate(config.model_copy(update={"n": 2}), out_dir)
    path = out_dir / "dialogues.jsonl"
    path.write_bytes(path.read_bytes()[:-1])
    report = await generate(config, out_dir)  # n = 4: two more
    assert report.written == 2
    raw = path.read_text()
    assert raw.endswith("\n") and "}{" not in raw
    ids = ids_in(path)
    assert len(ids) == len(set(ids)) == 4
    again = await generate(config, out_dir)
    assert again.written == 0 and again.already_done == 4
    manifest = json.loads((out_dir / "manifest.json").read_text())
    assert manifest["status"] == "complete"


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
            "--model",
            "fake",
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
        cfg = load_config(
            None,
            {
                "backend.kind": "openai",
                "backend.model": "fake",
                "backend.base_url": server.url,
                "n": 2,
            },
        )
        await generate(cfg, out_dir)
        assert server.headers[0]["Authorization"] == "Bearer sk-very-secret-123"
    for file in out_dir.iterdir():
        assert "sk-very-secret-123" not in file.read_text()


def failing_on(scenario_ids: set[str] | None):
    """A scripted responder that fails every call of the given scenarios (all if None)."""
    from factory.backends.scripted import canned_response
    from factory.errors import BackendError

    def respond(request):
        system = request.messages[0]["content"]
        if scenario_ids is None or any(sid in system for sid in scenario_ids):
            raise BackendError("HTTP 503 from server: overloaded", Usage(calls=1, failed_calls=1))
        return canned_response(request)

    return respond


async def test_backend_failures_are_kept_aside_and_retried_on_rerun(config, out_dir):
    from factory.backends.scripted import ScriptedBackend

    scenarios = SampledScenarios().scenarios(config.n, config.seed)
    # Fail the dialogues whose seeker prompt mentions the first scenario's situation.
    doomed = {scenarios[0].situation}
    report = await generate(config, out_dir, backend=ScriptedBackend(failing_on(doomed)))
    failed = [s for s in scenarios if s.situation in doomed]
    assert report.backend_failures == len(failed) >= 1
    assert report.written == config.n - len(failed)
    manifest = json.loads((out_dir / "manifest.json").read_text())
    assert manifest["status"] == "incomplete"
    failures = (out_dir / "failures.jsonl").read_text().splitlines()
    assert len(failures) == len(failed)
    assert json.loads(failures[0])["end_reason"] == "error:backend"
    again = await generate(config, out_dir, backend=ScriptedBackend())
    assert again.written == len(failed)
    assert set(ids_in(out_dir / "dialogues.jsonl")) == expected_ids(config.n)
    assert json.loads((out_dir / "manifest.json").read_text())["status"] == "complete"


async def test_a_dead_backend_stops_the_run_resumably(out_dir):
    from factory.backends.scripted import ScriptedBackend
    from factory.errors import BackendFailing

    cfg = load_config(None, {"backend.kind": "scripted", "n": 40, "concurrency": 2})
    with pytest.raises(BackendFailing, match="10 dialogues in a row failed on the backend"):
        await generate(cfg, out_dir, backend=ScriptedBackend(failing_on(None)))
    assert not (out_dir / "dialogues.jsonl").exists() or ids_in(out_dir / "dialogues.jsonl") == []
    assert len((out_dir / "failures.jsonl").read_text().splitlines()) < 40
    assert json.loads((out_dir / "manifest.json").read_text())["status"] == "interrupted"
    resumed = await generate(cfg, out_dir, backend=ScriptedBackend())
    assert resumed.written == 40


def test_ctrl_c_saves_and_says_how_to_resume(tmp_path):
    out = tmp_path / "run"
    with FakeOpenAIServer(latency=0.03) as server:
        cmd = [
            sys.executable, "-m", "factory", "generate", "--backend", "openai", "--model", "fake",
            "--base-url", server.url, "-n", "40", "--out", str(out), "--concurrency", "2",
        ]  # fmt: skip
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        path = out / "dialogues.jsonl"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (
            path.exists() and path.read_bytes().count(b"\n") >= 2
        ):
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "interrupted: finished dialogues are saved; rerun the same command to resume" in err
    assert "Traceback" not in err
    assert json.loads((out / "manifest.json").read_text())["status"] == "interrupted"
    ids = ids_in(path)
    assert len(ids) == len(set(ids)) >= 2


async def test_backend_parallel_limit_caps_dialogues_in_flight(out_dir):
    import asyncio

    from factory.backends.scripted import ScriptedBackend

    class OneAtATime(ScriptedBackend):
        max_parallel = 1

        async def complete(self, request):
            await asyncio.sleep(0)  # let other dialogues run, if the runner allowed any
            return await super().complete(request)

    cfg = load_config(None, {"backend.kind": "scripted", "n": 3, "concurrency": 8})
    backend = OneAtATime()
    await generate(cfg, out_dir, backend=backend)
    # Dialogues ran one after another: each seeker prompt's calls form one contiguous block.
    seeker_order = [r.messages[0]["content"] for r in backend.history if r.agent == "seeker"]
    blocks = [s for i, s in enumerate(seeker_order) if i == 0 or s != seeker_order[i - 1]]
    assert len(blocks) == len(set(blocks))


async def test_a_complete_but_invalid_last_line_is_not_taken_for_a_torn_one(config, out_dir):
    await generate(config, out_dir)
    path = out_dir / "dialogues.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    edited = json.loads(lines[-1]) | {"quality": 0.9}
    path.write_text("".join(lines[:-1]) + json.dumps(edited) + "\n")
    with pytest.raises(RunDirError, match=rf"dialogues.jsonl:{len(lines)} is not a valid dialogue"):
        await generate(config, out_dir)
    assert len(path.read_text().splitlines()) == len(lines)  # nothing cut


async def test_torn_tail_is_kept_in_torn_log(config, out_dir):
    await generate(config, out_dir)
    path = out_dir / "dialogues.jsonl"
    path.write_text(path.read_text() + '{"id": "dlg-half')
    await generate(config, out_dir)
    assert (out_dir / "torn.log").read_text() == '{"id": "dlg-half\n'


async def test_two_runs_cannot_share_a_directory(config, out_dir):
    from factory.runs.run_dir import RunDir

    holder = RunDir(out_dir)
    holder.prepare()
    try:
        with pytest.raises(RunDirError, match="another run is writing to"):
            await generate(config, out_dir)
    finally:
        holder.release()
    assert (await generate(config, out_dir)).written == 4


async def test_refused_before_a_word_is_retried_and_a_streak_stops_the_run(out_dir):
    from factory.backends.scripted import ScriptedBackend
    from factory.errors import BackendError, BackendFailing

    def reject(request):
        raise BackendError("HTTP 404 from server: model 'gpt5' not found", rejected=True)

    cfg = load_config(None, {"backend.kind": "scripted", "n": 30, "concurrency": 1})
    with pytest.raises(BackendFailing, match="10 dialogues in a row"):
        await generate(cfg, out_dir, backend=ScriptedBackend(reject))
    # Refused before anyone spoke: nothing to keep, so they wait in failures.jsonl and are not
    # done (they used to be empty error:rejected records that no rerun would make again).
    dialogues = out_dir / "dialogues.jsonl"
    assert not dialogues.exists() or dialogues.read_text() == ""
    failed = [json.loads(line) for line in (out_dir / "failures.jsonl").read_text().splitlines()]
    assert len(failed) == 10 and {r["end_reason"] for r in failed} == {"error:rejected"}
    # The config is fixed (a working backend): the rerun makes all 30.
    report = await generate(cfg, out_dir)
    assert report.written == 30
    assert len(dialogues.read_text().splitlines()) == 30


async def test_a_refusal_mid_dialogue_is_final(out_dir):
    from factory.backends.scripted import ScriptedBackend, canned_response
    from factory.errors import BackendError

    calls = {"n": 0}

    def reject_later(request):
        calls["n"] += 1
        if calls["n"] > 3:  # the first exchange goes through, then the context is too long
            raise BackendError("HTTP 400 from server: context too long", rejected=True)
        return canned_response(request)

    cfg = load_config(None, {"backend.kind": "scripted", "n": 1, "concurrency": 1})
    await generate(cfg, out_dir, backend=ScriptedBackend(reject_later))
    (row,) = [json.loads(line) for line in (out_dir / "dialogues.jsonl").read_text().splitlines()]
    assert row["end_reason"] == "error:rejected" and row["turns"]
    assert not (out_dir / "failures.jsonl").exists()


async def test_manifest_usage_counts_failed_dialogues_too(config, out_dir):
    from factory.backends.scripted import ScriptedBackend

    report = await generate(config, out_dir, backend=ScriptedBackend(failing_on(None)))
    assert report.written == 0 and report.backend_failures == config.n
    manifest = json.loads((out_dir / "manifest.json").read_text())
    assert manifest["counts"]["backend_failures_logged"] == config.n
    assert manifest["usage"]["calls"] == config.n  # one failed call each, paid for all the same


async def test_edited_scenario_is_a_new_dialogue(scenario, tmp_path):
    from factory.roleplay.loop import dialogue_id

    edited = scenario.model_copy(update={"situation": scenario.situation + " Again."})
    assert dialogue_id(scenario, 7) == dialogue_id(scenario.model_copy(), 7)
    assert dialogue_id(edited, 7) != dialogue_id(scenario, 7)


def test_budget_stops_cleanly_and_a_higher_budget_resumes(cli, tmp_path):
    out = tmp_path / "run"
    base = ("generate", "--dry-run", "-n", "20", "--concurrency", "2", "-o", str(out))
    first = cli(*base, "--max-tokens", "8000")
    assert first.code == 1 and "stopped at the token budget" in first.err
    kept = (out / "dialogues.jsonl").read_text().splitlines()
    manifest = json.loads((out / "manifest.json").read_text())
    assert 0 < len(kept) < 20 and manifest["status"] == "budget_reached"
    # What was finished stays; in-flight dialogues finished too, so usage is all accounted.
    assert manifest["usage"]["prompt_tokens"] + manifest["usage"]["completion_tokens"] >= 8000
    again = cli(*base, "--max-tokens", "8000")
    assert again.code == 1 and "is already spent, with" in again.err
    assert (out / "dialogues.jsonl").read_text().splitlines() == kept
    done = cli(*base, "--max-tokens", "10000000")
    assert done.code == 0, done.err
    full = tmp_path / "full"
    assert cli("generate", "--dry-run", "-n", "20", "-o", str(full)).code == 0

    def ids(path):
        lines = (path / "dialogues.jsonl").read_text().splitlines()
        return sorted(json.loads(x)["id"] for x in lines)

    assert ids(out) == ids(full)


def test_money_budget_needs_a_price_and_stops_at_it(cli, tmp_path):
    no_price = cli("generate", "--dry-run", "-n", "3", "--max-cost", "1", "-o", str(tmp_path / "a"))
    assert no_price.code == 1 and "budget.prices['scripted-v1']" in no_price.err
    assert not (tmp_path / "a").exists()
    config = tmp_path / "c.yaml"
    config.write_text(
        "budget:\n  max_cost: 0.01\n  prices:\n    scripted-v1: {prompt: 2.0, completion: 8.0}\n"
    )
    result = cli("generate", "--dry-run", "-n", "30", "-c", str(config), "-o", str(tmp_path / "b"))
    assert result.code == 1 and "stopped at the cost budget" in result.err
    usage = json.loads((tmp_path / "b" / "manifest.json").read_text())["usage"]
    cost = (usage["prompt_tokens"] * 2.0 + usage["completion_tokens"] * 8.0) / 1e6
    assert cost >= 0.01


def test_a_urls_staging_folder_follows_the_cache_settings(tmp_path, monkeypatch):
    from factory.runs.remote import RemoteRun

    monkeypatch.delenv("FACTORY_STAGING", raising=False)
    monkeypatch.delenv("FACTORY_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert (
        RemoteRun("memory://runs/a").staging.parent == tmp_path / "xdg" / "esc-factory" / "staging"
    )
    monkeypatch.setenv("FACTORY_CACHE_DIR", str(tmp_path / "mine"))
    one, other = RemoteRun("memory://runs/a").staging, RemoteRun("memory://runs/b").staging
    assert one.parent == other.parent == tmp_path / "mine" / "staging" and one != other
    monkeypatch.setenv("FACTORY_STAGING", str(tmp_path / "chosen"))
    assert RemoteRun("memory://runs/a").staging.parent == tmp_path / "chosen"


def test_a_run_at_an_fsspec_url_resumes_and_merges(cli, tmp_path, monkeypatch):
    import fsspec

    monkeypatch.setenv("FACTORY_STAGING", str(tmp_path / "staging"))
    url = f"file://{tmp_path / 'bucket' / 'run'}"
    first = cli("generate", "--dry-run", "-n", "6", "-o", url)
    assert first.code == 0, first.err
    assert f"{url}/dialogues.jsonl" in first.out
    fs, root = fsspec.core.url_to_fs(url)
    assert sorted(p.rsplit("/", 1)[1] for p in fs.ls(root)) == ["dialogues.jsonl", "manifest.json"]
    # Another machine (a fresh staging folder) picks the run up from the URL and extends it.
    monkeypatch.setenv("FACTORY_STAGING", str(tmp_path / "staging-2"))
    more = cli("generate", "--dry-run", "-n", "10", "-o", url)
    assert more.code == 0, more.err
    assert "(6 already there)" in more.out
    with fs.open(f"{root}/dialogues.jsonl") as handle:
        ids = [json.loads(line)["id"] for line in handle.read().splitlines()]
    assert len(ids) == len(set(ids)) == 10
    local = tmp_path / "local"
    assert cli("generate", "--dry-run", "-n", "10", "-o", str(local)).code == 0
    expected = sorted(
        json.loads(x)["id"] for x in (local / "dialogues.jsonl").read_text().splitlines()
    )
    assert sorted(ids) == expected
    bad = cli("generate", "--dry-run", "-n", "1", "-o", "nosuchscheme://x/y")
    assert bad.code == 1 and "no filesystem for it" in bad.err


def test_a_budget_that_the_whole_run_fits_in_is_a_success(cli, tmp_path):
    free = tmp_path / "free"
    assert cli("generate", "--dry-run", "-n", "10", "-o", str(free)).code == 0
    usage = json.loads((free / "manifest.json").read_text())["usage"]
    exact = str(usage["prompt_tokens"] + usage["completion_tokens"])
    fits = cli(
        "generate", "--dry-run", "-n", "10", "--max-tokens", exact, "-o", str(tmp_path / "b")
    )
    assert fits.code == 0, fits.err
    assert json.loads((tmp_path / "b" / "manifest.json").read_text())["status"] == "complete"


def budgeted(config, max_tokens, **update):
    budget = config.budget.model_copy(update={"max_tokens": max_tokens})
    return config.model_copy(update={**update, "budget": budget})


class CountingSource:
    """The sampled scenarios, counting how many were drawn."""

    def __init__(self) -> None:
        self.inner = SampledScenarios()
        self.drawn = 0

    def scenarios(self, n, seed):
        return list(self.stream(n, seed))

    def stream(self, n, seed):
        for scenario in self.inner.stream(n, seed):
            self.drawn += 1
            yield scenario


async def test_a_run_of_a_million_draws_only_what_it_makes(config, out_dir):
    """A million planned: the budget stops it after a few dialogues, and only those (plus a
    small look-ahead) were ever drawn; the manifest records the plan drawn so far."""
    source = CountingSource()
    big = budgeted(config, n=1_000_000, max_tokens=40_000)
    started = time.perf_counter()
    report = await generate(big, out_dir, source=source)
    assert time.perf_counter() - started < 30
    assert report.budget_stop is not None and 0 < report.written < 40
    assert source.drawn <= report.written + 40
    manifest = json.loads((out_dir / "manifest.json").read_text())
    assert manifest["status"] == "budget_reached"
    assert manifest["counts"]["requested"] == 1_000_000
    assert manifest["plan"]["n"] == report.written  # handed out (the look-ahead is not)
    # Resuming with a smaller n that the made dialogues already cover: nothing to do, done.
    small = config.model_copy(update={"n": report.written})
    again = await generate(small, out_dir)
    assert again.written == 0 and again.already_done == report.written
    assert json.loads((out_dir / "manifest.json").read_text())["status"] == "complete"


def test_the_plan_hash_is_the_hash_of_all_ids_joined():
    """Drawn one at a time, the record is what earlier versions wrote for the whole list,
    so their runs resume."""
    import hashlib

    from factory.runs.plan import Plan

    scenarios = SampledScenarios().scenarios(12, 3)
    ids = [dialogue_id(s, 3) for s in scenarios]
    plan = Plan(iter(scenarios), 12, 3)
    plan.prefetch(5)
    assert [dlg_id for dlg_id, _ in plan] == ids
    whole = hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16]
    assert plan.record().sha256 == whole
    assert plan.record().n == 12


async def test_an_edited_bank_is_refused_even_when_the_run_had_drawn_only_part(
    config, out_dir, tmp_path
):
    """The first session stops at its budget after drawing part of a 30-scenario bank; the
    bank is then edited inside that part: the resume is refused before any model call."""
    bank = tmp_path / "bank.jsonl"
    scenarios = SampledScenarios().scenarios(30, 5)
    bank.write_text("".join(s.model_dump_json() + "\n" for s in scenarios))
    first = budgeted(config, n=30, scenarios=str(bank), max_tokens=20_000)
    report = await generate(first, out_dir)
    assert report.budget_stop is not None
    drawn = json.loads((out_dir / "manifest.json").read_text())["plan"]["n"]
    assert 0 < drawn < 30
    scenarios[drawn - 1] = scenarios[drawn - 1].model_copy(update={"situation": "Edited."})
    bank.write_text("".join(s.model_dump_json() + "\n" for s in scenarios))
    unbudgeted = budgeted(config, n=30, scenarios=str(bank), max_tokens=None)
    with pytest.raises(RunDirError, match="made from other scenarios"):
        await generate(unbudgeted, out_dir)
    # Restored, the run goes on to exactly the 30 planned dialogues.
    scenarios[drawn - 1] = SampledScenarios().scenarios(30, 5)[drawn - 1]
    bank.write_text("".join(s.model_dump_json() + "\n" for s in scenarios))
    await generate(unbudgeted, out_dir)
    assert set(ids_in(out_dir / "dialogues.jsonl")) == {dialogue_id(s, 7) for s in scenarios}
