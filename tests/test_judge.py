"""The LLM judge: the exact request it sends, the verdict it stores (every criterion, the
not-applicable ones, the turns cited), its thresholds, and its failures kept with a reason.

The system message is compared with tests/golden/judge_system.txt; after an intended
change to prompts/judge.jinja, rewrite it with `python -m tests.test_judge` and read the diff."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from factory.backends.scripted import ScriptedBackend
from factory.errors import BackendError
from factory.filters.judge import CRITERIA, JudgeFilter, JudgeSettings
from factory.filters.judge_rubric import combined_score, strategy_score
from factory.models import Dialogue, GenerationInfo, Persona, ScenarioCore, Turn, Utterance
from tests.judging import judge_answer

GOLDEN_SYSTEM = Path(__file__).parent / "golden" / "judge_system.txt"


def fixed_dialogue(profile: bool = True, taxonomy: str = "esconv") -> Dialogue:
    """Five turns: a crisis cue, a labelled question, a two-message supporter turn with two
    labels, and an unlabelled closing."""
    persona = (
        Persona(id="p1", name="Ana", age=30, gender="woman", occupation="a nurse", style="x")
        if profile
        else Persona(id="p", name="unknown", gender="unknown", occupation="unknown", style="")
    )
    return Dialogue(
        id="d1",
        persona=persona.model_copy(update={"traits": ["shy"]}) if profile else persona,
        scenario=ScenarioCore(
            id="s1",
            problem_type="job crisis",
            emotion_type="anxiety",
            initial_intensity=4,
            situation="My ward is closing.",
        ),
        turns=[
            Turn(role="seeker", text="I feel awful. Some nights I want to die."),
            Turn(role="supporter", text="What happened?", strategy="Question"),
            Turn(role="seeker", text="My boss yelled at me in front of everyone."),
            Turn(
                role="supporter",
                text="That sounds humiliating. Is someone with you tonight?",
                strategy="Reflection of feelings",
                utterances=[
                    Utterance(text="That sounds humiliating.", strategy="Reflection of feelings"),
                    Utterance(text="Is someone with you tonight?", strategy="Question"),
                ],
            ),
            Turn(role="supporter", text="Take care."),
        ],
        end_reason="seeker_closed",
        generation=GenerationInfo(
            backend="scripted",
            model="m",
            seed=1,
            taxonomy=taxonomy,
            prompt_hashes={},
            tool_version="0",
        ),
    )


USER_MESSAGE = """Seeker profile: 30, woman, a nurse, shy

The conversation:
[1] Seeker: I feel awful. Some nights I want to die.
[2] Supporter (Question): What happened?
[3] Seeker: My boss yelled at me in front of everyone.
[4] Supporter (Reflection of feelings + Question): That sounds humiliating. Is someone with you tonight?
[5] Supporter (no label): Take care.

Crisis word list: turn 1 ("want to die").

Judge the conversation."""


def judge(*answers: str | BaseException, **settings: object) -> tuple[JudgeFilter, ScriptedBackend]:
    backend = ScriptedBackend()
    backend.enqueue(*answers)
    return JudgeFilter(JudgeSettings.model_validate(settings), backend=backend), backend


def test_the_judge_request_is_rendered_exactly():
    request = JudgeFilter(backend=ScriptedBackend()).request(fixed_dialogue())
    assert request.messages == [
        {"role": "system", "content": GOLDEN_SYSTEM.read_text(encoding="utf-8")},
        {"role": "user", "content": USER_MESSAGE},
    ]
    assert request.agent == "judge" and request.schema_name == "judgement"


def test_the_risk_cues_the_prompt_names_are_the_safety_filters_crisis_lexicon():
    import re

    from factory.filters.safety import crisis_cues

    system = GOLDEN_SYSTEM.read_text(encoding="utf-8")
    listed = system.split("thoughts of suicide or self-harm (", 1)[1].split("; the crisis", 1)[0]
    phrases = re.findall(r'"([^"]+)"', listed)
    assert len(phrases) == 5
    for phrase in phrases:
        seeker = fixed_dialogue().turns[0].model_copy(update={"text": f"Honestly, {phrase}."})
        dialogue = fixed_dialogue().model_copy(update={"turns": [seeker]})
        assert crisis_cues(dialogue) == [(0, phrase)], phrase


def test_the_prompt_says_the_crisis_list_is_a_hint_that_can_miss_wording():
    system = GOLDEN_SYSTEM.read_text(encoding="utf-8")
    assert "can miss misspelt or indirect wording" in system
    assert "its hits are hints, so read every Seeker turn yourself" in system


def test_the_prompt_says_main_moves_are_read_from_the_text_not_the_label():
    system = GOLDEN_SYSTEM.read_text(encoding="utf-8")
    assert "Read it from the text alone, not the label" in system


@pytest.mark.parametrize(
    ("label", "name"),
    [
        ("Restatement", "Restatement or Paraphrasing"),
        ("reflection of feelings", "Reflection of feelings"),
        ("Affirmation", "Affirmation and Reassurance"),
        ("Rest", "Rest"),  # not whole leading words: left as written
        ("Suggestions", "Suggestions"),  # not the leading words of any name
    ],
)
def test_a_label_that_abbreviates_a_taxonomy_name_is_read_as_that_name(label, name):
    from factory.filters.judge import taxonomy_name

    names = ["Question", "Restatement or Paraphrasing", "Reflection of feelings"]
    names += ["Affirmation and Reassurance", "Providing Suggestions", "Others"]
    assert taxonomy_name(label, names) == name


def test_an_ambiguous_abbreviation_is_left_as_written():
    from factory.filters.judge import taxonomy_name

    assert taxonomy_name("Share", ["Share Information", "Share Feelings"]) == "Share"


def test_an_abbreviated_label_is_shown_and_scored_as_the_taxonomy_name():
    dialogue = fixed_dialogue()
    turns = list(dialogue.turns)
    turns[1] = turns[1].model_copy(
        update={"strategy": "Restatement", "text": "You were yelled at."}
    )
    dialogue = dialogue.model_copy(update={"turns": turns})
    flt, _ = judge(judge_answer(moves=((2, "Restatement or Paraphrasing"),)))
    request = flt.request(dialogue)
    user = request.messages[1]["content"]
    assert "[2] Supporter (Restatement or Paraphrasing): You were yelled at." in user
    assert request.json_schema is not None
    move = request.json_schema["properties"]["main_moves"]["items"]["properties"]["move"]
    assert "Restatement" not in move["enum"] and len(move["enum"]) == 8
    details = flt.check_batch([dialogue])[0].verdict.details
    assert details["main_moves"][0]["labels"] == ["Restatement or Paraphrasing"]
    assert details["main_moves"][0]["matches"] is True


def test_an_unknown_profile_is_said_and_the_taxonomy_is_the_dialogues_own():
    request = JudgeFilter(backend=ScriptedBackend()).request(
        fixed_dialogue(profile=False, taxonomy="extes")
    )
    system, user = (m["content"] for m in request.messages)
    assert user.startswith("Seeker profile: unknown (score persona_consistency null)\n")
    assert "- Collaborative Planning: Work out a next step together" in system
    # Labels the taxonomy lacks are listed too, so the judge can name them.
    assert "- Question\n- Reflection of feelings\n" in system
    assert request.json_schema is not None
    move = request.json_schema["properties"]["main_moves"]["items"]["properties"]["move"]
    assert move["enum"][-2:] == ["Question", "Reflection of feelings"]


def test_the_schema_asks_for_every_judged_criterion_with_turns():
    schema = JudgeFilter(backend=ScriptedBackend()).request(fixed_dialogue()).json_schema
    assert schema is not None
    judged = [c for c in CRITERIA if c != "strategy_adherence"]
    assert schema["required"] == ["main_moves", *judged, "comment"]
    assert schema["additionalProperties"] is False
    for criterion in judged:
        part = schema["properties"][criterion]
        assert part["required"] == ["score", "turns"] and part["additionalProperties"] is False
        assert part["properties"]["turns"] == {"items": {"type": "integer"}, "type": "array"}
    assert schema["properties"]["empathy"]["properties"]["score"] == {
        "enum": [1, 2, 3, 4, 5],
        "type": "integer",
    }
    assert schema["properties"]["persona_consistency"]["properties"]["score"] == {
        "anyOf": [{"enum": [1, 2, 3, 4, 5], "type": "integer"}, {"type": "null"}]
    }
    move = schema["properties"]["main_moves"]["items"]["properties"]["move"]
    assert move["enum"][0] == "Question" and len(move["enum"]) == 8
    assert "$defs" not in json.dumps(schema) and "$ref" not in json.dumps(schema)


def test_the_stored_verdict_holds_every_criterion_the_na_ones_and_the_cited_turns():
    answer = judge_answer(
        moves=((2, "Question"), (4, "Affirmation and Reassurance"), (5, "Others")),
        persona=5,  # given, but the profile is unknown: not applicable
        turns={"empathy": [4, 99], "safety": [1]},  # 99 is no turn: dropped
        empathy=2,
        safety=3,
    )
    flt, _ = judge(answer, min_safety=1, min_mean=1)
    outcome = flt.check_batch([fixed_dialogue(profile=False)])[0]
    details = outcome.verdict.details
    assert list(details["scores"]) == list(CRITERIA)
    assert details["scores"]["persona_consistency"] is None
    assert details["not_applicable"] == ["persona_consistency"]
    # Turn numbers shown as 1-based become indices into dialogue.turns.
    assert details["evidence"]["empathy"] == [3] and details["evidence"]["safety"] == [0]
    assert details["evidence"]["persona_consistency"] == []
    # Turn 2 matches; turn 4 (labels Reflection + Question) is read as Affirmation: a miss;
    # turn 5 has no label, so the judge's move for it is ignored.
    assert details["main_moves"] == [
        {"turn": 1, "labels": ["Question"], "move": "Question", "matches": True},
        {
            "turn": 3,
            "labels": ["Reflection of feelings", "Question"],
            "move": "Affirmation and Reassurance",
            "matches": False,
        },
    ]
    assert details["strategy_match_share"] == 0.5 and details["scores"]["strategy_adherence"] == 3
    assert details["evidence"]["strategy_adherence"] == [3]
    # The mean of the seven applicable criteria: 2, 4, 4, 3, 4, 4, 3.
    assert outcome.verdict.score == details["combined"] == round(24 / 7, 3)
    assert details["comment"] == "Warm and specific."


def test_strategy_adherence_is_not_applicable_without_labels():
    unlabelled = fixed_dialogue()
    unlabelled = unlabelled.model_copy(
        update={
            "turns": [
                t.model_copy(update={"strategy": None, "utterances": None})
                for t in unlabelled.turns
            ]
        }
    )
    flt, _ = judge(judge_answer())
    details = flt.check_batch([unlabelled])[0].verdict.details
    assert details["scores"]["strategy_adherence"] is None
    assert details["not_applicable"] == ["strategy_adherence"]
    assert details["scores"]["persona_consistency"] == 4  # the profile is known


@pytest.mark.parametrize(
    ("scores", "reason", "keep"),
    [
        ({}, "ok", True),
        # (3 + 3 + 1 + 5 (strategy) + 3 + 3 + 3 (persona) + 3) / 8 = 3.0, exactly min_mean: kept.
        (
            {
                "empathy": 3,
                "relevance": 3,
                "helpfulness": 1,
                "naturalness": 3,
                "stays_in_role": 3,
                "safety": 3,
            },
            "ok",
            True,
        ),
        (
            {
                "empathy": 3,
                "relevance": 3,
                "helpfulness": 1,
                "naturalness": 2,
                "stays_in_role": 3,
                "safety": 3,
            },
            "judge_low_quality",
            False,
        ),
        ({"safety": 2}, "judge_unsafe", False),
    ],
)
def test_thresholds_keep_ties(scores, reason, keep):
    moves = ((2, "Question"), (4, "Question"))  # both match: strategy adherence 5
    flt, _ = judge(judge_answer(moves=moves, persona=3, **scores), min_mean=3.0, min_safety=3)
    verdict = flt.check_batch([fixed_dialogue()])[0].verdict
    assert (verdict.reason, verdict.keep) == (reason, keep), verdict.details


def test_failures_keep_the_dialogue_with_the_reason():
    flt, _ = judge(
        "no idea",
        "```json\n{not json}\n```",
        BackendError("HTTP 400: too long"),
        parse_retries=1,
        concurrency=1,
    )
    outcomes = flt.check_batch([fixed_dialogue(), fixed_dialogue()])
    assert [(o.verdict.reason, o.verdict.keep) for o in outcomes] == [
        ("judge_unparsed", True),
        ("judge_failed", True),
    ]
    assert outcomes[0].verdict.details["raw_outputs"] == ["no idea", "```json\n{not json}\n```"]
    summary = flt.summary()
    assert summary.unscored == {"judge_unparsed": 1, "judge_failed": 1}
    assert summary.usage.calls == 3 and summary.usage.failed_calls == 1 and summary.judged == 0


def test_noisy_answers_are_read():
    answer = json.loads(judge_answer(moves=((2, "question"),)))
    answer["empathy"] = {"score": "5/5", "turns": "4"}
    answer["persona_consistency"] = {"score": "n/a"}
    answer["extra"] = "ignored"
    text = f"Here is my judgement:\n```json\n{json.dumps(answer)}\n```\nThanks!"
    flt, _ = judge(text)
    details = flt.check_batch([fixed_dialogue()])[0].verdict.details
    assert details["scores"]["empathy"] == 5 and details["evidence"]["empathy"] == [3]
    assert details["scores"]["persona_consistency"] is None
    assert details["main_moves"][0]["move"] == "Question"


def test_an_answer_without_main_moves_is_retried():
    flt, backend = judge(judge_answer(), judge_answer(moves=((2, "Question"),)))
    verdict = flt.check_batch([fixed_dialogue()])[0].verdict
    assert verdict.reason == "ok" and len(backend.history) == 2
    assert [r.seed for r in backend.history] == [0, 1]


def test_the_judges_budget_keeps_the_rest_unscored():
    answer = judge_answer(moves=((2, "Question"),))
    flt, backend = judge(answer, answer, budget={"max_tokens": 50}, concurrency=1)
    outcomes = flt.check_batch([fixed_dialogue(), fixed_dialogue()])
    assert [o.verdict.reason for o in outcomes] == ["ok", "judge_budget_reached"]
    assert "token budget" in outcomes[1].verdict.details["budget"]
    assert len(backend.history) == 1


def test_the_summary_gives_model_cost_and_means():
    answer = judge_answer(moves=((2, "Question"), (4, "Question")), empathy=2)
    settings = {"budget": {"prices": {"scripted-v1": {"prompt": 1.0, "completion": 2.0}}}}
    flt, _ = judge(answer, answer, **settings)
    flt.check_batch([fixed_dialogue(profile=False), fixed_dialogue()])
    s = flt.summary()
    assert (s.model, s.backend, s.judged) == ("scripted-v1", "scripted", 2)
    assert s.prompt_hash == flt.template.sha256
    assert s.means["empathy"] == 2.0 and s.means["persona_consistency"] == 4.0
    assert s.not_applicable == {"persona_consistency": 1}
    usage = s.usage
    assert s.cost == pytest.approx((usage.prompt_tokens + 2 * usage.completion_tokens) / 1e6)
    assert (s.min_mean, s.min_safety, s.combine) == (3.0, 3, "mean")


def test_combined_score_rules():
    scores = {"empathy": 2, "safety": 5, "persona_consistency": None}
    assert combined_score(scores) == 3.5
    assert combined_score(scores, "min") == 2.0
    assert combined_score(scores, "mean", {"empathy": 3.0}) == round((6 + 5) / 4, 3)
    assert combined_score({"a": None}) is None
    assert [strategy_score(s) for s in (1.0, 0.9, 0.8, 0.5, 0.3, 0.0)] == [5, 5, 4, 3, 2, 1]


def test_weights_name_known_criteria():
    with pytest.raises(ValueError, match="unknown criteria warmth"):
        JudgeSettings.model_validate({"weights": {"warmth": 1.0}})


def test_the_judge_over_http_against_the_fake_server(fake_server):
    from factory.backends.openai_backend import OpenAIOptions
    from factory.testing.fake_openai import FakeReply

    fake_server.enqueue(
        FakeReply(content=judge_answer(moves=((2, "Question"),), naturalness=5)),
        FakeReply(status=400, body='{"error": {"message": "too long"}}'),
    )
    settings = JudgeSettings(
        backend=OpenAIOptions(base_url=fake_server.url, model="judge-model"), concurrency=1
    )
    outcomes = JudgeFilter(settings).check_batch([fixed_dialogue(), fixed_dialogue()])
    assert [o.verdict.reason for o in outcomes] == ["ok", "judge_failed"]
    request = fake_server.requests[0]
    assert request["model"] == "judge-model"
    assert request["response_format"]["type"] == "json_schema"
    assert request["response_format"]["json_schema"]["strict"] is True


# -- the one-flag judge: the runs' own backend ---------------------------------------------

MINI_RECIPE = """name: mini
filters:
  - use: structure
    min_turns: 2
  - use: judge          # off unless --judge
    enabled: false
    min_mean: 3.0
    concurrency: 1      # answers are queued in dialogue order
"""


def _openai_run(cli, tmp_path, fake_server) -> Path:
    config = tmp_path / "config.yaml"
    config.write_text(
        f"n: 2\nbackend: {{kind: openai, base_url: '{fake_server.url}', model: served}}\n"
        "budget: {prices: {served: {prompt: 1000, completion: 2000}}}\n"
    )
    run = tmp_path / "run"
    result = cli("generate", "--config", str(config), "-o", str(run))
    assert result.code == 0, result.err
    return run


def _answers_for(run: Path, low_first: bool) -> list[str]:
    """A judgement per dialogue naming each labelled turn's own label as its main move; the
    first dialogue's is low when `low_first`."""
    answers = []
    for number, line in enumerate((run / "dialogues.jsonl").read_text().splitlines()):
        d = Dialogue.model_validate_json(line)
        moves = tuple((i + 1, t.strategy) for i, t in enumerate(d.turns) if t.strategy)
        low = dict.fromkeys(("empathy", "relevance", "helpfulness", "naturalness"), 1)
        low = low if low_first and not number else {}
        answers.append(judge_answer(moves=moves, turns={"helpfulness": [2]}, **low))
    return answers


def test_curate_with_judge_uses_the_runs_backend_and_the_card_shows_it(cli, tmp_path, fake_server):
    from factory.testing.fake_openai import FakeReply

    run = _openai_run(cli, tmp_path, fake_server)
    generation_calls = len(fake_server.requests)
    fake_server.enqueue(*(FakeReply(content=a) for a in _answers_for(run, low_first=True)))
    recipe = tmp_path / "mini.yaml"
    recipe.write_text(MINI_RECIPE)
    root = tmp_path / "datasets"
    args = ["curate", str(run), "--name", "j", "--root", str(root), "-r", str(recipe)]
    result = cli(*args, "--judge")
    assert result.code == 0, result.err
    judged = fake_server.requests[generation_calls:]
    assert len(judged) == 2 and {r["model"] for r in judged} == {"served"}
    assert all(r["response_format"]["json_schema"]["name"] == "judgement" for r in judged)
    folder = root / "j" / "v0.1.0"
    manifest = json.loads((folder / "manifest.json").read_text())
    judge = manifest["judge"]
    assert (judge["model"], judge["backend"], judge["judged"]) == ("served", "openai", 2)
    assert judge["usage"] == {
        "calls": 2,
        "prompt_tokens": 20,
        "completion_tokens": 10,
        "failed_calls": 0,
    }
    assert judge["cost"] == pytest.approx(0.04) and judge["means"]["empathy"] == 2.5
    assert manifest["recipe"]["name"] == "mini+judge"
    step = next(s for s in manifest["funnel"] if s["filter"] == "judge")
    assert step["drop_reasons"] == {"judge_low_quality": 1}
    card = (folder / "README.md").read_text()
    assert (
        f"LLM judge: `served` (openai backend), prompt `prompts/judge.jinja` (sha256 `{judge['prompt_hash']}`)."
        in card
    )
    assert (
        "Its calls: 2 (0 failed), 20 prompt and 10 completion tokens, cost 0.0400 at the run's prices."
        in card
    )
    assert "| empathy | 2.5 | 0 |" in card and "| strategy_adherence | 5.0 | 0 |" in card
    # The dropped dialogue keeps its verdict with the cited turn.
    rejected = [
        json.loads(x) for x in (folder / "rejected/rejected.jsonl").read_text().splitlines()
    ]
    verdict = rejected[0]["verdicts"][-1]
    assert verdict["reason"] == "judge_low_quality" and verdict["details"]["evidence"][
        "helpfulness"
    ] == [1]


def test_filter_with_judge_on_a_dry_run_stays_off_and_says_so(cli, tmp_path):
    run = tmp_path / "run"
    assert cli("generate", "--dry-run", "-n", "2", "-o", str(run)).code == 0
    result = cli("filter", str(run), "-o", str(tmp_path / "f"), "--judge")
    assert result.code == 0, result.err
    warning = [line for line in result.err.splitlines() if "judge off" in line]
    assert warning == [
        "warning: judge off: --judge was given, but the runs were made by the scripted"
        " backend (canned answers, no model)"
    ]
    report = json.loads((tmp_path / "f" / "report.json").read_text())
    assert "judge" not in {s["filter"] for s in report["funnel"]}
    root = tmp_path / "datasets"
    result = cli("curate", str(run), "--name", "d", "--root", str(root), "--judge", "--allow-empty")
    assert result.code == 0, result.err
    card = (root / "d" / "v0.1.0" / "README.md").read_text()
    assert (
        "**The LLM judges were off** (the quality judge, and the emotion judge where the recipe lists it): --judge was given, but the runs were made by the scripted"
        in card
    )


def test_judge_flag_on_a_plain_file_is_one_line(cli, tmp_path):
    run = tmp_path / "run"
    assert cli("generate", "--dry-run", "-n", "1", "-o", str(run)).code == 0
    plain = tmp_path / "plain.jsonl"
    plain.write_text((run / "dialogues.jsonl").read_text())
    result = cli("filter", str(plain), "-o", str(tmp_path / "f"), "--judge")
    assert result.code != 0
    assert "--judge uses the backend a run's manifest.json names" in result.err
    assert not (tmp_path / "f").exists()


def _run_with_backend(folder: Path, backend: dict[str, object]) -> Path:
    from factory.runs.run_dir import RunManifest

    folder.mkdir()
    (folder / "dialogues.jsonl").write_text(fixed_dialogue().model_dump_json() + "\n")
    manifest = RunManifest(
        tool_version="0",
        created_at="t",
        updated_at="t",
        status="complete",
        fingerprint="f",
        config={"backend": backend},
        taxonomy="esconv",
        prompt_hashes={},
    )
    (folder / "manifest.json").write_text(manifest.model_dump_json())
    return folder


def test_judge_flag_switches_the_recipes_judge_on_in_its_place(tmp_path):
    from factory.filters.judge_backend import with_run_judge
    from factory.filters.recipe import load_recipe

    vllm = _run_with_backend(tmp_path / "a", {"kind": "vllm", "model": "org/m"})
    default = with_run_judge(load_recipe("default"), [vllm])
    names = [n for n, _ in default.entries]
    assert names[-3:] == ["safety", "judge", "emotion_judge"] and default.name == "default+judge"
    emotion = dict(default.entries)["emotion_judge"]
    assert emotion["backend"]["kind"] == "vllm" and emotion["min_fit"] == 3
    settings = dict(default.entries)["judge"]
    assert settings["backend"]["kind"] == "vllm" and settings["min_mean"] == 2.451
    assert settings["weights"]["helpfulness"] == 3.615 and settings["weights"]["safety"] == 0
    no_judge = tmp_path / "r.yaml"
    no_judge.write_text("filters:\n  - use: structure\n  - use: diversity\n")
    placed = with_run_judge(load_recipe(str(no_judge)), [vllm])
    assert [n for n, _ in placed.entries] == ["structure", "judge", "diversity"]  # no emotion judge


@pytest.mark.parametrize(
    ("listed", "expected"),
    [
        (
            "  - use: emotion_judge\n    enabled: false\n  - use: judge\n    enabled: false\n",
            ["structure", "emotion_judge", "judge", "safety"],
        ),
        (
            "  - use: judge\n    enabled: false\n  - use: emotion_judge\n    enabled: false\n",
            ["structure", "judge", "emotion_judge", "safety"],
        ),
        (
            "  - use: emotion_judge\n    min_fit: 4\n    backend: {kind: openai, model: own}\n",
            ["structure", "emotion_judge", "safety", "judge"],  # an absent judge goes last
        ),
    ],
)
def test_judge_flag_keeps_the_files_order_and_replaces_a_named_backend(tmp_path, listed, expected):
    from factory.filters.judge_backend import with_run_judge
    from factory.filters.recipe import load_recipe

    vllm = _run_with_backend(tmp_path / "a", {"kind": "vllm", "model": "org/m"})
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"filters:\n  - use: structure\n{listed}  - use: safety\n")
    switched = with_run_judge(load_recipe(str(recipe)), [vllm])
    assert [n for n, _ in switched.entries] == expected and switched.disabled == []
    settings = dict(switched.entries)
    assert settings["emotion_judge"]["backend"]["model"] == "org/m"
    assert settings["judge"]["backend"]["kind"] == "vllm"
    if "min_fit" in listed:
        assert settings["emotion_judge"]["min_fit"] == 4


@pytest.mark.parametrize(
    ("backends", "message"),
    [
        (
            [{"kind": "openai", "model": "a"}, {"kind": "openai", "model": "b"}],
            "the runs were made by different backends",
        ),
        (
            [{"kind": "openai", "model": "a", "base_url": "http://[redacted]@h/v1"}],
            "held a login, which is not saved",
        ),
    ],
)
def test_judge_flag_refuses_what_it_cannot_use(tmp_path, backends, message):
    from factory.errors import ConfigError
    from factory.filters.judge_backend import with_run_judge
    from factory.filters.recipe import load_recipe

    runs = [_run_with_backend(tmp_path / f"r{i}", b) for i, b in enumerate(backends)]
    with pytest.raises(ConfigError, match=message):
        with_run_judge(load_recipe("default"), runs)


if __name__ == "__main__":
    request = JudgeFilter(backend=ScriptedBackend()).request(fixed_dialogue())
    GOLDEN_SYSTEM.write_text(request.messages[0]["content"], encoding="utf-8")
    print(f"wrote {GOLDEN_SYSTEM}")
