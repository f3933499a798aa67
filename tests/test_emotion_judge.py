"""The emotion judge: the request it sends (the scenario, the emotions list, the seeker's own
turns only), how it reads answers, its threshold, its failures kept with a reason, and its
line in `factory filter`'s funnel over HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from factory.backends.scripted import ScriptedBackend
from factory.errors import BackendError
from factory.filters.emotion_judge import EmotionJudgeFilter, EmotionJudgeSettings
from factory.models import Dialogue, Turn
from factory.scenarios.persona_bank import PersonaBank
from tests.test_judge import fixed_dialogue


def answer(fit: object = 4, shown: object = ("anxiety",), reason: str = "Worried.") -> str:
    return json.dumps({"emotions_shown": list(shown), "fit": fit, "reason": reason})


def emotion_judge(
    *answers: str | BaseException, **settings: object
) -> tuple[EmotionJudgeFilter, ScriptedBackend]:
    backend = ScriptedBackend()
    backend.enqueue(*answers)
    settings.setdefault("concurrency", 1)
    filt = EmotionJudgeFilter(EmotionJudgeSettings.model_validate(settings), backend=backend)
    return filt, backend


def test_the_request_shows_the_scenario_and_only_the_seekers_turns():
    request = EmotionJudgeFilter(backend=ScriptedBackend()).request(fixed_dialogue())
    system, user = (m["content"] for m in request.messages)
    emotions = PersonaBank().emotions
    for family in {e.family for e in emotions}:  # one line per family, its emotions on it
        line = next(x for x in system.splitlines() if x.startswith(f"- the {family} group: "))
        for e in emotions:
            described = f"{e.name} ({e.description.rstrip('.').lower()})"
            assert (described in line) == (e.family == family), (line, e.name)
    assert user.splitlines()[:2] == [
        "Stated emotion: anxiety (Worry about what might happen; restless, on edge.)",
        "Situation: My ward is closing.",
    ]
    assert "[1] I feel awful. Some nights I want to die." in user
    assert "[3] My boss yelled at me in front of everyone." in user
    assert "humiliating" not in user and "What happened?" not in user  # supporter turns
    assert "later turns left out" not in user
    schema = request.json_schema or {}
    assert schema["required"] == ["emotions_shown", "fit", "reason"]
    assert "loneliness" in schema["properties"]["emotions_shown"]["items"]["enum"]


def test_the_stated_emotion_is_matched_to_the_list_whatever_its_case():
    dialogue = fixed_dialogue()
    scenario = dialogue.scenario.model_copy(update={"emotion_type": " Anxiety"})
    filt, backend = emotion_judge(answer(fit=2, shown=("sadness",)))
    verdict = filt.check_batch([dialogue.model_copy(update={"scenario": scenario})])[0].verdict
    assert verdict.reason == "emotion_unfit" and verdict.details["emotion"] == "anxiety"
    user = backend.history[0].messages[1]["content"]
    assert user.splitlines()[0].startswith("Stated emotion: anxiety (Worry")


def test_the_seekers_words_are_capped_at_whole_turns_the_first_always_shown():
    long = " ".join(["word"] * 60)
    turns = []
    for _ in range(4):
        turns += [Turn(role="seeker", text=long), Turn(role="supporter", text="I see.")]
    dialogue = fixed_dialogue().model_copy(update={"turns": turns})
    filt = EmotionJudgeFilter(EmotionJudgeSettings(max_seeker_words=130), ScriptedBackend())
    lines, cut = filt.seeker_lines(dialogue)
    assert [n for n, _ in lines] == [1, 3] and cut
    assert "(later turns left out)" in filt.request(dialogue).messages[1]["content"]
    filt = EmotionJudgeFilter(EmotionJudgeSettings(max_seeker_words=50), ScriptedBackend())
    assert [n for n, _ in filt.seeker_lines(dialogue)[0]] == [1]


@pytest.mark.parametrize(
    ("fit", "min_fit", "reason", "keep"),
    [(2, 3, "emotion_unfit", False), (3, 3, "ok", True), (3, 4, "emotion_unfit", False)],
)
def test_a_fit_under_the_threshold_drops_a_tie_keeps(fit, min_fit, reason, keep):
    filt, _ = emotion_judge(answer(fit=fit, shown=("sadness",)), min_fit=min_fit)
    verdict = filt.check_batch([fixed_dialogue()])[0].verdict
    assert (verdict.reason, verdict.keep, verdict.score) == (reason, keep, fit)
    assert verdict.details == {
        "emotion": "anxiety",
        "emotions_shown": ["sadness"],
        "fit": fit,
        "why": "Worried.",
    }


def test_noisy_answers_are_read_and_unknown_names_kept_as_written():
    text = "Sure:\n```json\n" + answer(fit="2/5", shown=["ANXIETY", "grief"]) + "\n```"
    filt, _ = emotion_judge(text)
    details = filt.check_batch([fixed_dialogue()])[0].verdict.details
    assert details["fit"] == 2 and details["emotions_shown"] == ["anxiety", "grief"]


def test_failures_keep_the_dialogue_with_the_reason_and_the_summary_counts_them():
    filt, backend = emotion_judge(
        "no idea",
        json.dumps({"fit": 9, "emotions_shown": ["anxiety"]}),
        BackendError("HTTP 500"),
        answer(fit=5),
        answer(fit=1),
        parse_retries=1,
    )
    dialogues = [fixed_dialogue() for _ in range(4)]
    outcomes = filt.check_batch(dialogues)
    assert [(o.verdict.reason, o.verdict.keep) for o in outcomes] == [
        ("judge_unparsed", True),
        ("judge_failed", True),
        ("ok", True),
        ("emotion_unfit", False),
    ]
    assert outcomes[0].verdict.details["raw_outputs"][0] == "no idea"
    assert [r.seed for r in backend.history[:2]] == [0, 1]
    summary = filt.summary()
    assert summary.judged == 2 and summary.fits == {"1": 1, "5": 1}
    assert summary.unscored == {"judge_unparsed": 1, "judge_failed": 1}
    assert summary.usage.calls == 5 and summary.min_fit == 3


def test_factory_filter_runs_it_over_http_and_prints_its_line(cli, tmp_path: Path, fake_server):
    from factory.testing.fake_openai import FakeReply

    dialogues = tmp_path / "in.jsonl"
    rows = [fixed_dialogue().model_copy(update={"id": f"d{i}"}) for i in range(2)]
    dialogues.write_text("".join(d.model_dump_json() + "\n" for d in rows))
    fake_server.enqueue(FakeReply(content=answer(fit=5)), FakeReply(content=answer(fit=1)))
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        "name: emo\nfilters:\n  - use: emotion_judge\n    concurrency: 1\n"
        f"    backend: {{kind: openai, base_url: '{fake_server.url}', model: judge-model}}\n"
    )
    result = cli("filter", str(dialogues), "--recipe", str(recipe), "--out", str(tmp_path / "o"))
    assert result.code == 0, result.err
    assert "emotion judge judge-model: 2 scored (fits 1:1 5:1), 2 calls" in result.out + result.err
    kept = [Dialogue.model_validate_json(x) for x in (tmp_path / "o/kept.jsonl").open()]
    assert [d.id for d in kept] == ["d0"]
    report = json.loads((tmp_path / "o/report.json").read_text())
    assert report["summaries"]["emotion_judge"]["fits"] == {"1": 1, "5": 1}
    request = fake_server.requests[0]
    assert request["response_format"]["json_schema"]["name"] == "emotion_fit"


def test_curate_records_the_emotion_judge_in_the_manifest_and_the_card(
    cli, tmp_path: Path, fake_server
):
    from factory.testing.fake_openai import FakeReply

    run = tmp_path / "run"
    assert cli("generate", "--dry-run", "-n", "2", "-o", str(run)).code == 0
    fake_server.enqueue(FakeReply(content=answer(fit=4)), FakeReply(content=answer(fit=2)))
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        "name: emo\nfilters:\n  - use: emotion_judge\n    concurrency: 1\n"
        f"    backend: {{kind: openai, base_url: '{fake_server.url}', model: judge-model}}\n"
    )
    root = tmp_path / "datasets"
    result = cli("curate", str(run), "--name", "e", "--root", str(root), "-r", str(recipe))
    assert result.code == 0, result.err
    folder = root / "e" / "v0.1.0"
    manifest = json.loads((folder / "manifest.json").read_text())
    summary = manifest["emotion_judge"]
    assert (summary["model"], summary["judged"], summary["fits"]) == (
        "judge-model",
        2,
        {"2": 1, "4": 1},
    )
    card = (folder / "README.md").read_text()
    assert (
        f"Emotion judge: `judge-model` (openai backend), prompt `prompts/emotion_judge.jinja` (sha256 `{summary['prompt_hash']}`)"
        in card
    )
    assert (
        "It scored 2 dialogues (fits 2: 1, 4: 1). A dialogue was dropped when the fit was under 3."
        in card
    )


@pytest.mark.parametrize("emotion", ["unknown", "", "awe"])
def test_nothing_to_judge_is_kept_without_a_call(emotion):
    filt, backend = emotion_judge()
    unknown = fixed_dialogue()
    unknown = unknown.model_copy(
        update={"scenario": unknown.scenario.model_copy(update={"emotion_type": emotion})}
    )
    silent = fixed_dialogue()
    silent = silent.model_copy(update={"turns": [t for t in silent.turns if t.role == "supporter"]})
    outcomes = filt.check_batch([unknown, silent])
    assert [(o.verdict.reason, o.verdict.keep) for o in outcomes] == [
        ("unknown_emotion", True),
        ("no_seeker_text", True),
    ]
    assert outcomes[0].verdict.details == {"emotion": emotion}
    assert backend.history == [] and filt.summary().judged == 0
    assert filt.summary().unscored == {"unknown_emotion": 1, "no_seeker_text": 1}
