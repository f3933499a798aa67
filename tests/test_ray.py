"""`factory generate --ray` on a local Ray (2 CPUs): the same dialogues as one process,
resume after a budget stop, and an unreachable cluster as one line. `factory filter --ray`:
the same kept and rejected bytes, and the same counts, as one process; a filter failing on a
worker, or a cluster nobody answers, as one line and no files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from factory.filters.base import Filter, FilterSettings, Outcome
from factory.models import Dialogue

ray = pytest.importorskip("ray")

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


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


def _filter_outputs(out: Path) -> tuple[bytes, bytes, list[dict]]:
    report = json.loads((out / "report.json").read_text())
    for step in report["funnel"]:
        step.pop("seconds")  # timings differ; the counts must not
    return (
        (out / "kept.jsonl").read_bytes(),
        (out / "rejected.jsonl").read_bytes(),
        [report["counts"], *report["funnel"]],
    )


def test_filter_on_ray_writes_the_same_bytes_with_many_small_batches(tmp_path):
    # Stateless stages around dedup and a tight boilerplate cap (which depend on the order),
    # 16-dialogue batches and malformed lines between them: the actors' batches come back
    # out of order and must still be written as one process writes them.
    from factory.filters.pipeline import run_recipe
    from factory.filters.ray_stages import RayStages
    from factory.filters.recipe import load_recipe
    from factory.runs.ray_tasks import RayOptions, shutdown
    from tests.test_filters import SEEKER, SUPPORTER, dialogue, write_jsonl

    rows: list = []
    for i in range(90):
        seeker = [*SEEKER[:-1], f"{SEEKER[-1]} Talk {i % 30} soon."]
        supporter = [f"{SUPPORTER[0]} ({i % 7})", *SUPPORTER[1:]]
        if i % 11 == 0:
            seeker[-1] = "and then I was going to"  # truncated
        if i % 13 == 0:
            supporter = supporter[:1]  # too few turns
        if i == 2:  # redacted on an actor (and kept): written changed, not as its input line
            seeker[-1] = f"{seeker[-1]} Mail me at ana{i}@example.com."
        rows.append(dialogue(seeker=seeker, supporter=supporter, id=f"d{i}"))
        if i % 17 == 0:
            rows.append("not a dialogue")
    source = write_jsonl(tmp_path / "in.jsonl", rows)
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        "name: r\nfilters:\n"
        + "".join(f"  - use: {n}\n" for n in ("pii_redact", "structure", "truncation"))
        + "  - use: exact_dedup\n  - use: boilerplate\n    max_dialogues_per_line: 3\n"
        + "".join(f"  - use: {n}\n" for n in ("intensity_trajectory", "safety", "repetition"))
    )
    run_recipe(source, load_recipe(str(recipe)), tmp_path / "one", batch_size=16)
    try:
        run_recipe(
            source,
            load_recipe(str(recipe)),
            tmp_path / "ray",
            batch_size=16,
            runner=RayStages(RayOptions(num_cpus=2), actors=2),
        )
    finally:
        shutdown()
    one, on_ray = _filter_outputs(tmp_path / "one"), _filter_outputs(tmp_path / "ray")
    assert on_ray == one
    counts = one[2][0]
    assert counts["malformed"] == 6 and 0 < counts["kept"] < 60  # every path was taken
    kept = one[0].decode()
    assert "pii_redacted" in kept and "example.com" not in kept
    assert '"failure":null' in kept  # the other kept lines are their input lines


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data is not present")
def test_filter_ray_on_esconv_gives_the_same_files_as_one_process(cli, tmp_path):
    pytest.importorskip("sentence_transformers")
    source = tmp_path / "esconv_test.jsonl"
    imported = cli(
        "import", "esconv", str(SHARED / "esconv" / "esconv_test.jsonl"), "-o", str(source)
    )
    assert imported.code == 0, imported.err
    # The actors embed (for the emotion filter they run, and ahead of the driver's semantic
    # dedup), each adding shards to the store beside the input.
    on_ray = cli("filter", str(source), "--out", str(tmp_path / "ray"), "--ray")
    assert on_ray.code == 0, on_ray.err
    assert not ray.is_initialized()
    used = json.loads((tmp_path / "ray" / "report.json").read_text())["embeddings"]["stages"]
    dialogues = len(source.read_text().splitlines())
    # Semantic dedup's texts were embedded on the actors and handed to the driver: counted
    # once, as computed, for the dialogues that reached it (checked against one process below).
    assert dialogues // 2 < used["semantic_dedup"]["computed"] <= dialogues
    # One process on the same store: nothing embedded again, the same files.
    one = cli("filter", str(source), "--out", str(tmp_path / "one"))
    assert one.code == 0, one.err
    assert "embeddings: 0 computed" in one.out
    assert _filter_outputs(tmp_path / "ray") == _filter_outputs(tmp_path / "one")

    def funnel(out: str) -> list[str]:
        return [x for x in out.splitlines()[:-1] if not x.startswith("embeddings:")]

    assert funnel(on_ray.out) == funnel(one.out)  # the funnel as printed
    # And one process embedding everything afresh keeps and drops the same dialogues.
    fresh = cli("filter", str(source), "--out", str(tmp_path / "fresh"), "--embeddings", "none")
    assert fresh.code == 0, fresh.err
    assert funnel(fresh.out) == funnel(one.out)
    # It also counts the same embeddings, stage by stage, as the run on Ray did.
    afresh = json.loads((tmp_path / "fresh" / "report.json").read_text())["embeddings"]["stages"]
    assert afresh == used


def test_filter_on_an_unreachable_cluster_is_one_line_and_writes_nothing(cli, tmp_path):
    from tests.test_filters import dialogue, write_jsonl

    source = write_jsonl(tmp_path / "in.jsonl", [dialogue()])
    out = tmp_path / "out"
    result = cli("filter", str(source), "--out", str(out), "--address", "127.0.0.1:1")
    assert result.code == 1 and "cannot reach the Ray cluster at 127.0.0.1:1" in result.err
    assert result.err.count("\n") == 1
    assert [p.name for p in tmp_path.iterdir()] == ["in.jsonl"]  # no out, nothing staged


def test_a_filter_failing_on_a_worker_is_one_error_and_leaves_no_files(tmp_path, monkeypatch):
    from factory.errors import BackendFailing
    from factory.filters import FILTERS
    from factory.filters.pipeline import run_recipe
    from factory.filters.ray_stages import RayStages
    from factory.filters.recipe import load_recipe
    from factory.runs.ray_tasks import RayOptions, shutdown
    from tests.test_filters import dialogue, write_jsonl

    class _FailsOnWorkers(Filter[FilterSettings]):
        """Stateless, and broken; defined here so that Ray ships the class itself."""

        name = "fails_on_workers"
        Settings = FilterSettings
        stateless = True

        def check(self, dialogue: Dialogue) -> Outcome:
            raise ValueError("boom in a stage")

    monkeypatch.setitem(FILTERS, _FailsOnWorkers.name, _FailsOnWorkers)
    source = write_jsonl(tmp_path / "in.jsonl", [dialogue()])
    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: r\nfilters:\n  - use: structure\n  - use: fails_on_workers\n")
    runner = RayStages(RayOptions(num_cpus=2), actors=1)
    try:
        with pytest.raises(
            BackendFailing, match=r"a Ray worker failed \(.*boom in a stage"
        ) as caught:
            run_recipe(source, load_recipe(str(recipe)), tmp_path / "out", runner=runner)
    finally:
        shutdown()
    assert "\n" not in str(caught.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "r.yaml"]
