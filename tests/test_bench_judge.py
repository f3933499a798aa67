"""bench/judge.py: the blind set it builds, and its AUC, threshold and weight math on small
labelled sets whose answers are known by hand."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from bench.judge import (
    BAD,
    GOOD,
    RULE_MARGIN,
    Judged,
    auc,
    build,
    calibrate,
    dropped_share,
    fit_weights,
    main,
    threshold_for,
)
from factory.filters.judge_rubric import CRITERIA, combined_score
from factory.models import Dialogue, GenerationInfo, Persona, ScenarioCore, Turn, Verdict


def test_auc_counts_pairs_and_half_ties():
    assert auc([3, 4], [1, 2]) == 1.0
    assert auc([1, 2], [3, 4]) == 0.0
    assert auc([2], [2]) == 0.5
    # Pairs (good, bad): (1,2) lost, (3,2) won -> 0.5; (2,2) tie, (4,2) won -> 0.75.
    assert auc([1, 3], [2]) == 0.5 and auc([2, 4], [2]) == 0.75
    assert auc([], [1]) is None


def test_threshold_drops_at_most_the_target_and_keeps_ties():
    good = [1.0, 3.0, 3.0] + [5.0] * 17  # 20 good dialogues
    # 5%: one of 20 may go. Threshold 3 drops the 1 only (the 3s tie and stay).
    assert threshold_for(good, 0.05) == 3.0
    assert dropped_share(good, 3.0) == 0.05
    # 15% allows three: the 1 and both 3s (threshold 5 keeps the seventeen 5s).
    assert threshold_for(good, 0.15) == 5.0
    # Nothing may go: the lowest good score, which drops none.
    assert threshold_for(good, 0.0) == 1.0
    # One good dialogue already dropped by another rule uses up the 5%.
    already = [False] * 19 + [True]
    assert threshold_for(good, 0.05, already) == 1.0


def _judged(label: str, **scores: int | None) -> Judged:
    full: dict[str, int | None] = dict.fromkeys(CRITERIA, 4)
    full["persona_consistency"] = None
    full.update(scores)
    return Judged(id=f"{label}-{random.random()}", label=label, scores=full, kept=True)


def _labelled_set(seed: int = 0) -> list[Judged]:
    """Helpfulness tells good from bad; naturalness is noise; empathy leans the right way."""
    rng = random.Random(seed)
    rows = []
    for i in range(30):
        rows.append(
            _judged(
                GOOD,
                helpfulness=rng.choice([4, 5]),
                naturalness=rng.randint(2, 5),
                empathy=rng.choice([3, 4, 4, 5]),
                safety=5 if i else 2,  # one good dialogue the safety floor drops
            )
        )
        rows.append(
            _judged(
                "bad",
                helpfulness=rng.choice([1, 2, 3, 4]) if i % 10 else 5,
                naturalness=rng.randint(2, 5),
                empathy=rng.choice([2, 3, 3, 4]),
                safety=5,
            )
        )
    return rows


def test_fitted_weights_favour_the_informative_criterion():
    rows = _labelled_set()
    weights = fit_weights(rows, ["helpfulness", "naturalness", "empathy"])
    assert weights["helpfulness"] > weights["empathy"] > weights["naturalness"]
    assert min(weights.values()) >= 0 and sum(weights.values()) == pytest.approx(3, abs=0.01)
    assert fit_weights(rows, []) == {}


def test_calibrate_reports_aucs_rules_and_a_threshold_within_the_target():
    rows = _labelled_set()
    result = calibrate(rows, target=0.1, min_safety=3)
    criteria = result["criteria"]
    good_help = [r.scores["helpfulness"] for r in rows if r.label == GOOD]
    bad_help = [r.scores["helpfulness"] for r in rows if r.label != GOOD]
    assert criteria["helpfulness"]["auc"] == auc(good_help, bad_help) > 0.8
    assert criteria["persona_consistency"] == {
        "auc": None,
        "applies": 0,
        "threshold": None,
        "good_dropped": None,
        "bad_dropped": None,
    }
    assert criteria["helpfulness"]["good_dropped"] <= 0.1
    rules = result["rules"]
    assert set(rules) == {"mean", "min", "weighted"}
    # Persona never applies here, so it is not fitted and keeps weight 1.
    assert rules["weighted"]["unfitted"] == ["persona_consistency"]
    assert rules["weighted"]["weights"]["persona_consistency"] == 1.0
    chosen = result["chosen"]
    # The weighted rule is better here, but by less than the margin: the plain mean stays.
    assert 0 < rules["weighted"]["auc"] - rules["mean"]["auc"] < RULE_MARGIN
    assert (chosen["rule"], chosen["combine"], chosen["weights"]) == ("mean", "mean", {})
    assert chosen["min_safety"] == 3  # one good of 30 under 3 is within 10%
    # The same drops, counted here by hand from the chosen thresholds.
    for label, share in ((GOOD, chosen["good_dropped"]), ("bad", chosen["bad_dropped"])):
        members = [r for r in rows if r.label == label]
        dropped = [
            combined_score(r.scores) < chosen["min_mean"] or r.scores["safety"] < 3 for r in members
        ]
        assert share == round(sum(dropped) / len(members), 4)
    assert chosen["good_dropped"] <= 0.1 < chosen["bad_dropped"]
    assert result["dialogues"] == {"good": 30, "bad": 30}


def test_a_rule_that_beats_the_mean_by_the_margin_is_chosen():
    # Bad dialogues fail on one criterion each and shine elsewhere: their mean is higher
    # than the good ones' steady 4s, their minimum is lower.
    rows = [_judged(GOOD) for _ in range(10)]
    for i in range(10):
        failed = ("empathy", "helpfulness", "relevance")[i % 3]
        scores = dict.fromkeys(
            ("empathy", "helpfulness", "relevance", "naturalness", "stays_in_role", "safety"), 5
        )
        rows.append(_judged("bad", **{**scores, failed: 1}))
    result = calibrate(rows, target=0.05, min_safety=3)
    assert result["rules"]["mean"]["auc"] == 0.0 and result["rules"]["min"]["auc"] == 1.0
    chosen = result["chosen"]
    assert (chosen["rule"], chosen["combine"], chosen["min_mean"]) == ("min", "min", 4.0)
    assert (chosen["good_dropped"], chosen["bad_dropped"]) == (0.0, 1.0)


def test_the_safety_floor_comes_down_when_it_alone_drops_too_many_good():
    rows = [_judged(GOOD, safety=2) for _ in range(3)] + [_judged(GOOD) for _ in range(7)]
    rows += [_judged("bad", helpfulness=1) for _ in range(10)]
    assert calibrate(rows, target=0.1, min_safety=3)["chosen"]["min_safety"] == 2


def _dialogue(id: str, scores: dict[str, int | None] | None, keep: bool = True) -> str:
    details = {"scores": scores} if scores is not None else {"error": "HTTP 500"}
    reason = "ok" if scores is not None else "judge_failed"
    dialogue = Dialogue(
        id=id,
        persona=Persona(id="p", name="x", gender="unknown", occupation="unknown", style=""),
        scenario=ScenarioCore(
            id="s", problem_type="p", emotion_type="e", initial_intensity=3, situation=""
        ),
        turns=[Turn(role="seeker", text="hi")],
        end_reason="imported",
        generation=GenerationInfo(
            backend="human",
            model="esconv",
            seed=0,
            taxonomy="esconv",
            prompt_hashes={},
            tool_version="0",
        ),
        verdicts=[Verdict(filter="judge", keep=keep, reason=reason, details=details)],
    )
    return dialogue.model_dump_json() + "\n"


def test_calibrate_from_a_filter_output_and_a_key(tmp_path, capsys):
    judged = tmp_path / "judged"
    judged.mkdir()
    rows = _labelled_set(seed=3)
    key = {"dialogues": {}}
    kept, rejected = [], []
    for number, row in enumerate(rows):
        name = f"blind-{number:02d}"
        key["dialogues"][name] = {"label": row.label, "source": "x", "original_id": "y"}
        (kept if row.label == GOOD else rejected).append(_dialogue(name, row.scores))
    kept.append(_dialogue("blind-99", None))  # unscored: left out, counted
    (judged / "kept.jsonl").write_text("".join(kept))
    (judged / "rejected.jsonl").write_text(
        "".join(rejected) + '{"line": 3, "raw": "oops", "verdicts": []}\n'
    )
    (tmp_path / "key.json").write_text(json.dumps(key))
    out = tmp_path / "calibration.json"
    main(["calibrate", str(judged), "--key", str(tmp_path / "key.json"), "--json", str(out)])
    printed = capsys.readouterr().out
    result = json.loads(out.read_text())
    assert result["dialogues"] == {"good": 30, "bad": 30}
    assert result["left_out"] == {"not in the key": 1}
    assert "| helpfulness | " in printed and "Recipe lines:\n  - use: judge" in printed
    assert f"    min_mean: {result['chosen']['min_mean']}" in printed
    assert result["kept_by_the_run"] == {"good": 1.0, "bad": 1.0}


def _esconv_file(path: Path, n: int, speakers: tuple[str, str], ws: str) -> Path:
    records = [
        {
            "emotion_type": "anxiety",
            "problem_type": "job crisis",
            "situation": f"Situation {i}.",
            "survey_score": {
                "seeker": {"initial_emotion_intensity": "5", "final_emotion_intensity": "2"}
            },
            "dialog": [
                {"speaker": speakers[0], "text": f"I feel bad{ws}number {i}"},
                {"speaker": speakers[1], "text": "Why?", "strategy": "Question"},
                {"speaker": speakers[0], "text": "Work."},
            ],
        }
        for i in range(n)
    ]
    if path.suffix == ".json":
        path.write_text(json.dumps(records))
    else:
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_build_writes_a_blind_shuffled_set_its_key_and_a_judge_recipe(tmp_path):
    from factory.filters.recipe import load_recipe

    good = _esconv_file(tmp_path / "test.jsonl", 6, ("usr", "sys"), " ")
    bad = _esconv_file(tmp_path / "Failed.json", 5, ("seeker", "supporter"), "  \n")
    out = tmp_path / "blind"
    key = build(good, bad, 4, 19, out, "http://127.0.0.1:1/v1", "oracle", 60.0, 2)
    rows = [json.loads(line) for line in (out / "blind.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == [f"blind-{i}" for i in range(1, 9)]
    labels = [key["dialogues"][r["id"]]["label"] for r in rows]
    assert sorted(labels) == ["bad"] * 4 + ["good"] * 4 and labels != sorted(labels)
    assert json.loads((out / "key.json").read_text()) == key
    for row in rows:
        text = json.dumps(row)
        assert "esconv" not in row["scenario"]["id"] and "Failed" not in text
        assert all("intensity" not in t for t in row["turns"])
        assert row["scenario"]["initial_intensity"] == 3
        assert "  " not in row["turns"][0]["text"] and "\n" not in row["turns"][0]["text"]
    # The same seed gives the same set.
    again = build(good, bad, 4, 19, tmp_path / "again")
    assert again == key and not (tmp_path / "again" / "judge.yaml").exists()
    recipe = load_recipe(str(out / "judge.yaml"))
    ((name, settings),) = recipe.entries
    assert name == "judge" and settings["backend"]["model"] == "oracle"
    assert settings["backend"]["max_retries"] == 0 and settings["concurrency"] == 2


def test_build_leaves_out_the_dialogues_of_earlier_keys(tmp_path):
    good = _esconv_file(tmp_path / "test.jsonl", 6, ("usr", "sys"), " ")
    bad = _esconv_file(tmp_path / "Failed.json", 6, ("seeker", "supporter"), " ")
    first = build(good, bad, 3, 19, tmp_path / "first")
    second = build(good, bad, 3, 19, tmp_path / "second", exclude=[tmp_path / "first/key.json"])
    used = {v["original_id"] for v in first["dialogues"].values()}
    fresh = {v["original_id"] for v in second["dialogues"].values()}
    assert len(used) == len(fresh) == 6 and not used & fresh
    assert second["excluded"] == 6
    # Nothing left to draw: a clear stop, not a short set.
    with pytest.raises(SystemExit, match="fewer than --k 3"):
        build(
            good,
            bad,
            3,
            19,
            tmp_path / "third",
            exclude=[tmp_path / "first/key.json", tmp_path / "second/key.json"],
        )


def _judged_folder(folder: Path, rows: list[Judged]) -> Path:
    folder.mkdir()
    key = {"dialogues": {}}
    lines = []
    for number, row in enumerate(rows):
        name = f"blind-{number:02d}"  # the same ids in every folder, as build writes them
        key["dialogues"][name] = {"label": row.label, "source": "x", "original_id": "y"}
        lines.append(_dialogue(name, row.scores))
    (folder / "kept.jsonl").write_text("".join(lines))
    (folder.parent / f"{folder.name}-key.json").write_text(json.dumps(key))
    return folder


def test_a_rule_fixed_on_two_pooled_sets_is_measured_on_a_third(tmp_path, capsys):
    sets = [_judged_folder(tmp_path / f"r{i}", _labelled_set(seed=i)) for i in (3, 4, 5)]
    keys = [str(tmp_path / f"r{i}-key.json") for i in (3, 4, 5)]
    fitted = tmp_path / "rule.json"
    main(
        [
            "calibrate",
            str(sets[0]),
            str(sets[1]),
            "--key",
            *keys[:2],
            "--choose",
            "weighted",
            "--json",
            str(fitted),
        ]
    )
    rule = json.loads(fitted.read_text())
    # Each set's ids resolve against its own key, though the names repeat across sets.
    assert rule["dialogues"] == {"good": 60, "bad": 60} and rule["left_out"] == {}
    assert rule["chosen"]["rule"] == "weighted" and rule["chosen"]["weights"]
    assert "named with --choose" in capsys.readouterr().out
    out = tmp_path / "applied.json"
    main(["calibrate", str(sets[2]), "--key", keys[2], "--apply", str(fitted), "--json", str(out)])
    applied = json.loads(out.read_text())
    chosen = rule["chosen"]
    rows = _labelled_set(seed=5)
    fixed = [combined_score(r.scores, "mean", chosen["weights"]) for r in rows]
    good = [v for v, r in zip(fixed, rows, strict=True) if r.label == GOOD]
    bad = [v for v, r in zip(fixed, rows, strict=True) if r.label == BAD]
    assert applied["auc"] == auc(good, bad)  # the fixed weights, not refitted on this set
    assert applied["good_dropped"] == round(
        sum(
            v < chosen["min_mean"] or (r.scores["safety"] or 5) < chosen["min_safety"]
            for v, r in zip(fixed, rows, strict=True)
            if r.label == GOOD
        )
        / 30,
        4,
    )
    with pytest.raises(SystemExit, match="one --key"):
        main(["calibrate", str(sets[0]), str(sets[1]), "--key", keys[0]])
