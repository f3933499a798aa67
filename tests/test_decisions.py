"""Human review in curation: `factory curate --decisions` rescues what a filter dropped,
drops what a person rejects, counts both in the funnel, manifest and card, and refuses
decisions that disagree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

# Drops the dialogues shorter than 19 turns: of the 12 dry-run dialogues of seed 5, 6 fail.
SHORT = "name: short\nfilters:\n  - use: structure\n    min_turns: 19\n"


@pytest.fixture
def run(tmp_path: Path, cli) -> Path:
    out = tmp_path / "run"
    result = cli("generate", "--dry-run", "-n", "12", "--seed", "5", "--out", str(out))
    assert result.code == 0, result.err
    return out


def _lengths(run: Path) -> dict[str, int]:
    rows = [json.loads(line) for line in (run / "dialogues.jsonl").read_text().splitlines()]
    return {row["id"]: len(row["turns"]) for row in rows}


def _decisions(path: Path, *calls: tuple[str, str, str]) -> Path:
    rows = [
        {"id": i, "decision": d, "note": n, "reviewer": "ana", "time": "2026-01-01T00:00:00Z"}
        for i, d, n in calls
    ]
    path.write_text(json.dumps({"source": "run", "decisions": rows}))
    return path


def _curate(cli, run: Path, tmp_path: Path, *extra: str):
    recipe = tmp_path / "short.yaml"
    recipe.write_text(SHORT)
    root = tmp_path / "datasets"
    return cli("curate", str(run), "--name", "esc", "-r", str(recipe), "-o", str(root), *extra)


def test_a_human_keep_rescues_a_filter_drop_and_a_human_drop_removes_a_kept_one(cli, run, tmp_path):
    lengths = _lengths(run)
    short = sorted(i for i, n in lengths.items() if n < 19)
    long = sorted(i for i, n in lengths.items() if n >= 19)
    assert len(short) == 6 and len(long) == 6
    decisions = _decisions(
        tmp_path / "d.json",
        (short[0], "keep", "short but warm"),
        (long[0], "drop", "supporter lectures"),
        ("dlg-not-here", "drop", ""),
    )
    result = _curate(cli, run, tmp_path, "--decisions", str(decisions))
    assert result.code == 0, result.err
    assert "1 decisions name no dialogue of the input (not applied): dlg-not-here" in result.err
    assert "kept 6 of 12 dialogues" in result.out
    folder = tmp_path / "datasets" / "esc" / "v0.1.0"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["review"] == {
        "files": ["d.json"],
        "decisions": 3,
        "reviewers": ["ana"],
        "kept": 1,
        "dropped": 1,
        "unmatched": 1,
    }
    step = manifest["funnel"][-1]
    assert step["filter"] == "human_review"
    assert (step["in"], step["kept"], step["dropped"]) == (7, 6, 1)
    assert step["keep_reasons"] == {"ok": 5, "human_keep": 1}
    assert manifest["counts"]["kept"] == 6 == sum(manifest["splits"].values())
    rejected = [
        json.loads(x) for x in (folder / "rejected" / "rejected.jsonl").read_text().splitlines()
    ]
    assert len(rejected) == manifest["counts"]["rejected"] == 6
    by_id = {row["id"]: row for row in rejected}
    assert short[0] not in by_id
    human = by_id[long[0]]["verdicts"][-1]
    assert human["filter"] == "human_review" and human["reason"] == "human_review"
    assert human["details"]["note"] == "supporter lectures"
    from factory.dataset.table import read_split

    kept = {d.id: d for s in manifest["split_files"].values() for d in read_split(folder / s)}
    assert set(kept) == {short[0], *long[1:]}
    rescued = kept[short[0]].verdicts
    assert [(v.filter, v.keep) for v in rescued[-2:]] == [
        ("structure", False),
        ("human_review", True),
    ]
    assert rescued[-1].filter == "human_review" and rescued[-1].details["reviewer"] == "ana"
    card = (folder / "README.md").read_text()
    assert "Human review (3 decisions by ana, made in `factory view`): 1 dialogues" in card
    assert "| human_review | 7 | 1 | 6 | human_review 1 |" in card


def test_conflicting_or_broken_decisions_are_one_line_errors(cli, run, tmp_path):
    one = sorted(_lengths(run))[0]
    a = _decisions(tmp_path / "a.json", (one, "keep", ""))
    b = _decisions(tmp_path / "b.json", (one, "drop", "no"))
    result = _curate(cli, run, tmp_path, "--decisions", str(a), "--decisions", str(b))
    assert result.code == 1
    assert result.err.startswith(f"error: conflicting decisions for dialogue {one}")
    assert len(result.err.strip().splitlines()) == 1
    assert not (tmp_path / "datasets" / "esc").exists()
    broken = tmp_path / "broken.json"
    broken.write_text('{"decisions": [{"id": "x", "decision": "maybe"}]}')
    result = _curate(cli, run, tmp_path, "--decisions", str(broken))
    assert result.code == 1 and "not a decisions file" in result.err
    assert len(result.err.strip().splitlines()) == 1
    same = _decisions(tmp_path / "c.json", (one, "keep", "again"))
    assert _curate(cli, run, tmp_path, "--decisions", str(a), "--decisions", str(same)).code == 0


def test_old_manifests_without_review_still_load(tmp_path):
    from factory.dataset.manifest import DatasetManifest

    assert "review" in DatasetManifest.model_fields
    assert DatasetManifest.model_fields["review"].default is None


def test_a_human_keep_saves_a_version_when_the_recipe_kept_nothing(cli, run, tmp_path):
    everything = tmp_path / "all.yaml"
    everything.write_text("name: all\nfilters:\n  - use: structure\n    min_turns: 70\n")
    root = tmp_path / "datasets"
    args = ["curate", str(run), "--name", "esc", "-r", str(everything), "-o", str(root)]
    refused = cli(*args)
    assert refused.code == 1 and "no dialogue of 12 passed recipe 'all'" in refused.err
    assert not (root / "esc" / "v0.1.0").exists()
    chosen = sorted(_lengths(run))[0]
    decisions = _decisions(tmp_path / "d.json", (chosen, "keep", "worth keeping"))
    saved = cli(*args, "--decisions", str(decisions))
    assert saved.code == 0, saved.err
    manifest = json.loads((root / "esc" / "v0.1.0" / "manifest.json").read_text())
    assert manifest["counts"]["kept"] == 1 and manifest["review"]["kept"] == 1
    assert manifest["funnel"][-1]["keep_reasons"] == {"human_keep": 1}
