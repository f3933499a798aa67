"""bench/emotion_judge.py: the blind set it builds (real and swapped halves, swaps always
to another family, earlier rounds left out) and its interval and AUC math."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bench.emotion_judge import REAL, SWAP, auc, build, read_answers, wilson
from factory.filters.emotion_consistency import emotion_families
from tests.test_bench_judge import _esconv_file


def _shared(tmp_path: Path, n: int) -> Path:
    shared = tmp_path / "shared"
    (shared / "esconv").mkdir(parents=True)
    for split in ("valid", "test"):
        path = _esconv_file(shared / "esconv" / f"esconv_{split}.jsonl", n, ("usr", "sys"), " ")
        path.write_text(path.read_text().replace("Situation", f"The {split} situation"))
    return shared


def test_build_swaps_half_to_another_family_and_keeps_the_key_apart(tmp_path):
    shared = _shared(tmp_path, 5)
    out, key_path = tmp_path / "blind", tmp_path / "secret" / "key.json"
    key = build(shared, 4, 14, out, key_path, "http://127.0.0.1:1/v1", "oracle", 2)
    rows = [json.loads(x) for x in (out / "blind.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == [f"emo-{i:03d}" for i in range(1, 9)]
    assert not (out / "key.json").exists() and json.loads(key_path.read_text()) == key
    family = emotion_families()
    labels = []
    for row in rows:
        entry = key["dialogues"][row["id"]]
        labels.append(entry["label"])
        assert row["scenario"]["emotion_type"] == entry["stated"]
        same = family[entry["stated"]] == family[entry["original"]]
        assert same == (entry["label"] == REAL), entry
    assert sorted(labels) == [REAL] * 4 + [SWAP] * 4 and labels != sorted(labels)
    recipe = yaml.safe_load((out / "emotion_judge.yaml").read_text())
    (entry,) = recipe["filters"]
    assert entry["use"] == "emotion_judge" and entry["backend"]["model"] == "oracle"
    again = build(shared, 4, 14, tmp_path / "again", tmp_path / "k2.json")
    assert again == key
    fresh = build(shared, 1, 14, tmp_path / "third", tmp_path / "k3.json", exclude=[key_path])
    used = {v["original_id"] for v in key["dialogues"].values()}
    assert not used & {v["original_id"] for v in fresh["dialogues"].values()}
    with pytest.raises(SystemExit, match="fewer than 2n"):
        build(shared, 2, 14, tmp_path / "x", tmp_path / "k4.json", exclude=[key_path])


def test_wilson_and_auc():
    low, high = wilson(37, 50)
    assert (round(low, 3), round(high, 3)) == (0.604, 0.841)
    assert wilson(0, 50)[0] == 0.0 and wilson(0, 0) == (0.0, 1.0)
    assert auc([5, 4], [2, 4]) == pytest.approx((1 + 1 + 1 + 0.5) / 4)
    assert auc([], [1]) is None


def test_read_answers_takes_the_emotion_judges_details(tmp_path):
    verdict = {"filter": "emotion_judge", "details": {"emotion": "anger", "fit": 2}}
    other = {"filter": "structure", "details": {}}
    (tmp_path / "kept.jsonl").write_text(
        json.dumps({"id": "a", "verdicts": [other, verdict]}) + "\n"
    )
    (tmp_path / "rejected.jsonl").write_text("")
    assert read_answers(tmp_path) == {"a": {"emotion": "anger", "fit": 2}}


def test_score_counts_each_rule_per_class(tmp_path, monkeypatch):
    import bench.emotion_judge as bench

    monkeypatch.setattr(bench, "embedding_side", lambda judged, key, answers: {"stub": True})
    cases = {  # id: (class, stated emotion, fit, emotions shown)
        "a": (REAL, "anxiety", 5, ["anxiety"]),
        "b": (REAL, "fear", 2, ["anxiety"]),  # low fit, but its family named
        "c": (REAL, "anger", 2, ["sadness"]),
        "d": (SWAP, "shame", 2, ["sadness"]),
        "e": (SWAP, "anger", 3, ["anger"]),
        "f": (SWAP, "sadness", None, []),  # the judge gave no fit
    }
    key = {i: {"label": c[0], "stated": c[1]} for i, c in cases.items()}
    (tmp_path / "key.json").write_text(json.dumps({"dialogues": key}))
    lines = []
    for i, (_, emotion, fit, shown) in cases.items():
        details = {"emotion": emotion, "emotions_shown": shown}
        details |= {"fit": fit} if fit is not None else {"raw_outputs": ["?"]}
        lines.append(
            json.dumps({"id": i, "verdicts": [{"filter": "emotion_judge", "details": details}]})
        )
    (tmp_path / "kept.jsonl").write_text("\n".join(lines[:3]) + "\n")
    (tmp_path / "rejected.jsonl").write_text("\n".join(lines[3:]) + "\n")
    result = bench.score(tmp_path, tmp_path / "key.json")
    assert result["judged"] == {REAL: 3, SWAP: 2} and result["unscored"] == {SWAP: 1}
    shipped = next(r for r in result["rules"] if r["shipped"])
    assert (shipped[REAL]["dropped"], shipped[SWAP]["dropped"]) == (2, 1)
    assert (result["family_rule"][REAL]["dropped"], result["family_rule"][SWAP]["dropped"]) == (
        1,
        1,
    )
    assert result["auc"] == pytest.approx((1 + 1 + 0.5 + 0 + 0.5 + 0) / 6)
    assert result["embedding_filter"] == {"stub": True}
