"""The loop's phases, stop rules, strategy rules, failure recording and determinism, on the
scripted backend."""

import json
import random

import pytest

from factory.backends.base import ChatRequest
from factory.backends.scripted import ScriptedBackend, canned_response
from factory.counting import jensen_shannon, shares
from factory.errors import BackendError
from factory.models import Persona, Scenario
from factory.roleplay.loop import RolePlay
from factory.runs.config import load_config


def seeker(message: str | list[str], intensity: int = 3, end: bool = False) -> str:
    messages = message if isinstance(message, list) else [message]
    return json.dumps({"messages": messages, "intensity": intensity, "end_conversation": end})


def counselor(strategy: str) -> str:
    return json.dumps({"rationale": "fits", "strategy": strategy})


def make(**roleplay):
    """A loop with a fixed shape unless a test says otherwise: the seeker opens, no answer to
    the goodbye, no mix control."""
    settings = {
        "supporter_first_share": 0.0,
        "closing_reply_share": 0.0,
        "mix_control": False,
        **roleplay,
    }
    cfg = load_config(
        None, {"backend.kind": "scripted", **{f"roleplay.{k}": v for k, v in settings.items()}}
    )
    return RolePlay.from_config(cfg)


SEEKER_LINES = [
    "hi. rough week.",
    "I lost my job on Monday.",
    "My savings will last two months at most.",
    "My partner does not know yet and I am scared to tell.",
    "I could call my old manager about openings.",
    "That actually sounds doable, thanks.",
]
SUPPORTER_LINES = [
    "Hi there, I'm glad you came. What's been going on?",
    "That sounds like a shock. How are you holding up?",
    "Money worries on top of that must be heavy.",
    "It makes sense to be scared of that talk.",
    "Reaching out to people you trust is a good step.",
    "Take care of yourself, and good luck with the call.",
]


def exchange(
    backend: ScriptedBackend, i: int, strategy: str = "Question", end: bool = False
) -> None:
    backend.enqueue(
        seeker(SEEKER_LINES[i], 4 - i // 3, end), counselor(strategy), SUPPORTER_LINES[i]
    )


def enums(backend: ScriptedBackend) -> list[list[str]]:
    return [
        r.json_schema["properties"]["strategy"]["enum"]
        for r in backend.history
        if r.agent == "counselor"
    ]


async def test_a_dialogue_runs_to_its_target_and_closes(scenario):
    rp, backend = make(target_exchanges=3, min_exchanges=1), ScriptedBackend()
    exchange(backend, 0, "Question")
    exchange(backend, 1, "Reflection of feelings")
    exchange(backend, 2, "Others")
    dialogue = await rp.run(backend, scenario)
    assert dialogue.end_reason == "completed"
    assert [t.role for t in dialogue.turns] == ["seeker", "supporter"] * 3
    # Exchange 1 of 3 is a third of the way in: comforting starts at 0.3, action at 0.5.
    assert [t.phase for t in dialogue.turns] == [
        "opening",
        "opening",
        "comforting",
        "comforting",
        "action",
        "closing",
    ]
    assert dialogue.plan.target_exchanges == 3 and not dialogue.plan.supporter_first
    # The opening and the closing are limited to their phase's strategies.
    assert enums(backend)[0] == ["Question", "Others"]
    assert enums(backend)[2] == ["Affirmation and Reassurance", "Others"]
    last_seeker = [r for r in backend.history if r.agent == "seeker"][-1]
    assert "This is your last message" in last_seeker.messages[-1]["content"]
    assert dialogue.generation.usage.calls == 9
    assert not backend._queue


async def test_the_seeker_may_close_near_its_target_and_the_supporter_says_goodbye(scenario):
    rp, backend = make(target_exchanges=6, min_exchanges=1), ScriptedBackend()
    exchange(backend, 0)
    exchange(backend, 1, "Restatement or Paraphrasing")
    exchange(backend, 2, "Reflection of feelings")
    exchange(backend, 3, "Others", end=True)  # exchange 3 >= 6 - close_window 3
    dialogue = await rp.run(backend, scenario)
    assert dialogue.end_reason == "seeker_closed"
    assert dialogue.turns[-1].role == "supporter" and dialogue.turns[-1].phase == "closing"
    assert len(dialogue.turns) == 8
    seeker_prompts = [r.messages[-1]["content"] for r in backend.history if r.agent == "seeker"]
    assert "It is too early to end the chat" in seeker_prompts[2]
    assert "nearing its end" in seeker_prompts[3]


async def test_a_close_before_the_window_is_ignored(scenario):
    rp, backend = make(target_exchanges=6, min_exchanges=1), ScriptedBackend()
    exchange(backend, 0)
    exchange(backend, 1, "Others", end=True)  # exchange 1 < 6 - 3: too early
    backend.enqueue(BackendError("stop here"))
    dialogue = await rp.run(backend, scenario)
    assert [t.phase for t in dialogue.turns][-1] == "exploration"
    assert dialogue.end_reason == "error:backend"


async def test_supporter_first_opening_and_seeker_answer_to_the_goodbye(scenario):
    rp = make(
        target_exchanges=2, min_exchanges=1, supporter_first_share=1.0, closing_reply_share=1.0
    )
    backend = ScriptedBackend()
    backend.enqueue(counselor("Others"), "Hello! How are you today?")
    exchange(backend, 0, "Question")
    exchange(backend, 1, "Others")
    backend.enqueue(seeker("you too, bye", 2))
    dialogue = await rp.run(backend, scenario)
    assert [t.role for t in dialogue.turns] == ["supporter", "seeker", "supporter"] * 1 + [
        "seeker",
        "supporter",
        "seeker",
    ]
    assert dialogue.turns[0].phase == "opening" and dialogue.turns[0].strategy == "Others"
    # After the supporter's hello and the seeker's answer, the supporter explores.
    assert dialogue.turns[2].phase == "exploration"
    assert dialogue.turns[-2].phase == "closing" and dialogue.turns[-1].phase == "closing"
    first = backend.history[0]
    assert first.agent == "counselor" and "has not started yet" in first.messages[-1]["content"]
    assert dialogue.end_reason == "completed"


async def test_target_is_drawn_per_dialogue_within_the_bounds(persona):
    rp = make(min_exchanges=9, max_exchanges=12, supporter_first_share=0.5)
    targets, firsts = [], []
    for i in range(60):
        sc = Scenario(
            id=f"s{i}",
            persona=persona,
            problem_type="job crisis",
            emotion_type="anxiety",
            initial_intensity=3,
            situation=f"Situation number {i}.",
        )
        dialogue = await rp.run(ScriptedBackend(), sc)
        targets.append(dialogue.plan.target_exchanges)
        firsts.append(dialogue.plan.supporter_first)
    assert min(targets) >= 9 and max(targets) <= 12 and len(set(targets)) >= 3
    assert 10 <= sum(firsts) <= 50


async def test_seeker_may_send_several_messages_in_a_turn(scenario):
    rp, backend = make(target_exchanges=2, min_exchanges=1), ScriptedBackend()
    backend.enqueue(
        seeker(["hey", "so this week was bad"]), counselor("Question"), "Hi, what happened?"
    )
    exchange(backend, 1, "Others")
    dialogue = await rp.run(backend, scenario)
    first = dialogue.turns[0]
    assert first.text == "hey so this week was bad"
    assert [u.text for u in first.utterances] == ["hey", "so this week was bad"]
    assert dialogue.turns[2].utterances is None


async def test_intensity_moves_one_step_at_a_time(scenario):
    rp, backend = make(target_exchanges=2, min_exchanges=1), ScriptedBackend()
    backend.enqueue(seeker("hi", 1), counselor("Question"), SUPPORTER_LINES[0])  # from 4
    backend.enqueue(seeker("ok bye", 5), counselor("Others"), SUPPORTER_LINES[5])
    dialogue = await rp.run(backend, scenario)
    assert [t.intensity for t in dialogue.turns if t.role == "seeker"] == [3, 4]


async def test_budgets_reach_the_model_as_ranges_and_are_stored(scenario):
    rp, backend = make(target_exchanges=4, min_exchanges=1), ScriptedBackend()
    dialogue = await rp.run(backend, scenario)
    for turn in dialogue.turns:
        low, high = turn.words
        assert 1 <= low < high
        asked = [r.messages[-1]["content"] for r in backend.history if r.agent == turn.role]
        assert any(f"about {low}-{high} words" in prompt for prompt in asked)
    assert len({t.words for t in dialogue.turns}) >= 4  # drawn per turn, not one setting


async def test_an_overlong_reply_is_cut_at_a_sentence_end(scenario):
    rp, backend = make(target_exchanges=1, min_exchanges=1, parse_retries=0), ScriptedBackend()
    long_reply = "Goodbye and take care. " + "You did well to reach out today and " * 6 + "more."
    backend.enqueue(seeker("hi, bye"), counselor("Others"), long_reply)
    dialogue = await rp.run(backend, scenario)
    assert dialogue.turns[-1].text == "Goodbye and take care."


async def test_an_overlong_sentence_is_retried_then_kept_whole(scenario):
    rp, backend = make(target_exchanges=1, min_exchanges=1, parse_retries=1), ScriptedBackend()
    run_on = "you did well to reach out " * 12 + "today"
    backend.enqueue(seeker("hi, bye"), counselor("Others"), run_on, run_on)
    dialogue = await rp.run(backend, scenario)
    supporter_calls = [r for r in backend.history if r.agent == "supporter"]
    assert len(supporter_calls) == 2  # the first was refused, the last try keeps it
    assert dialogue.turns[-1].text == run_on


async def test_repeated_seeker_text_is_a_stall(scenario):
    rp, backend = make(target_exchanges=5, min_exchanges=1), ScriptedBackend()
    exchange(backend, 1)
    backend.enqueue(seeker("I lost my job on monday!"))
    dialogue = await rp.run(backend, scenario)
    assert dialogue.end_reason == "stalled"
    assert len(dialogue.turns) == 3


async def test_repeated_supporter_text_is_a_stall(scenario):
    rp, backend = make(target_exchanges=5, min_exchanges=1), ScriptedBackend()
    exchange(backend, 0)
    backend.enqueue(seeker(SEEKER_LINES[1]), counselor("Others"), SUPPORTER_LINES[0])
    dialogue = await rp.run(backend, scenario)
    assert dialogue.end_reason == "stalled"
    assert dialogue.turns[-1].role == "supporter"


async def test_strategy_cannot_run_more_than_twice(scenario):
    rp, backend = make(target_exchanges=5, min_exchanges=1), ScriptedBackend()
    exchange(backend, 0, "Question")
    exchange(backend, 1, "Question")
    # Third time: the counselor answers Question anyway (a weak model would); the parse
    # rejects it and the retry picks another strategy.
    backend.enqueue(
        seeker(SEEKER_LINES[2]), counselor("Question"), counselor("Information"), SUPPORTER_LINES[2]
    )
    backend.enqueue(BackendError("stop"))
    dialogue = await rp.run(backend, scenario)
    strategies = [t.strategy for t in dialogue.turns if t.role == "supporter"]
    assert strategies == ["Question", "Question", "Information"]
    assert "Question" not in enums(backend)[2]


async def test_the_goodbye_is_not_held_to_the_run_rule(scenario):
    rp, backend = make(target_exchanges=3, min_exchanges=1), ScriptedBackend()
    exchange(backend, 0, "Others")
    exchange(backend, 1, "Others")
    exchange(backend, 2, "Others")
    dialogue = await rp.run(backend, scenario)
    assert [t.strategy for t in dialogue.turns if t.role == "supporter"] == ["Others"] * 3
    assert enums(backend)[2] == ["Affirmation and Reassurance", "Others"]


async def test_a_strategy_outside_the_phase_is_refused(scenario):
    rp, backend = make(target_exchanges=2, min_exchanges=1, parse_retries=1), ScriptedBackend()
    backend.enqueue(seeker("hi"), counselor("Providing Suggestions"), counselor("Others"), "Hi!")
    exchange(backend, 1, "Others")
    dialogue = await rp.run(backend, scenario)
    assert dialogue.turns[1].strategy == "Others"


async def test_unparsable_output_is_retried_then_recorded(scenario):
    rp, backend = make(target_exchanges=3, min_exchanges=1, parse_retries=1), ScriptedBackend()
    exchange(backend, 0)
    backend.enqueue(seeker(SEEKER_LINES[1]), "I think Question maybe", "no idea {")
    dialogue = await rp.run(backend, scenario)
    assert dialogue.end_reason == "error:parse"
    assert dialogue.failure is not None
    assert dialogue.failure.agent == "counselor"
    assert dialogue.failure.raw_outputs == ["I think Question maybe", "no idea {"]
    assert len(dialogue.turns) == 3  # what was said before the failure is kept
    assert dialogue.generation.usage.calls == 6  # 3 + seeker + counselor twice


async def test_noisy_but_parsable_output_is_used(scenario):
    rp, backend = make(target_exchanges=1, min_exchanges=1), ScriptedBackend()
    backend.enqueue(
        'Here you go: {"message": "Seeker: I lost my job.", "intensity": "4", "end_conversation": "no"}',
        '```json\n{"strategy": "[others]", "rationale": "say goodbye",}\n```',
        "Supporter: That must be hard. What happened?\nSeeker: well",
    )
    dialogue = await rp.run(backend, scenario)
    assert [t.text for t in dialogue.turns] == [
        "I lost my job.",
        "That must be hard. What happened?",
    ]
    assert dialogue.turns[0].intensity == 4
    assert dialogue.turns[1].strategy == "Others"


async def test_echoed_instructions_are_rejected(scenario):
    rp, backend = make(target_exchanges=1, min_exchanges=1, parse_retries=0), ScriptedBackend()
    backend.enqueue(seeker("Write only your own messages, in the first person"))
    dialogue = await rp.run(backend, scenario)
    assert dialogue.end_reason == "error:parse"
    assert "echoes" in dialogue.failure.message


async def test_backend_failure_is_recorded_with_usage(scenario):
    rp, backend = make(target_exchanges=3, min_exchanges=1), ScriptedBackend()
    exchange(backend, 0)
    backend.enqueue(BackendError("HTTP 500 from server"))
    dialogue = await rp.run(backend, scenario)
    assert dialogue.end_reason == "error:backend"
    assert dialogue.failure.agent == "seeker"
    assert "HTTP 500" in dialogue.failure.message
    assert dialogue.generation.usage.failed_calls == 1
    assert dialogue.generation.usage.calls == 4


async def test_same_scenario_and_seed_give_the_same_dialogue(scenario):
    rp = make()
    first = await rp.run(ScriptedBackend(), scenario)
    second = await rp.run(ScriptedBackend(), scenario)
    assert first.id == second.id
    assert first.turns == second.turns and first.plan == second.plan
    assert first.supporter == second.supporter
    other_seed = RolePlay.from_config(load_config(None, {"backend.kind": "scripted", "seed": 8}))
    assert (await other_seed.run(ScriptedBackend(), scenario)).id != first.id


@pytest.mark.parametrize("taxonomy, count", [("esconv", 8), ("extes", 16)])
def test_taxonomies_load(taxonomy, count):
    assert len(make(taxonomy=taxonomy).taxonomy.strategies) == count


async def test_seeker_may_retell_its_own_situation(scenario):
    rp, backend = make(target_exchanges=1, min_exchanges=1, parse_retries=0), ScriptedBackend()
    retold = "Honestly, " + scenario.situation[0].lower() + scenario.situation[1:]
    backend.enqueue(seeker(retold), counselor("Others"), SUPPORTER_LINES[5])
    dialogue = await rp.run(backend, scenario)
    assert dialogue.end_reason == "completed"
    assert dialogue.turns[0].text == retold


async def test_the_supporter_may_tell_its_own_experience(scenario):
    rp, backend = make(target_exchanges=2, min_exchanges=1, parse_retries=0), ScriptedBackend()
    probe = await rp.run(ScriptedBackend(), scenario)  # the same plan: the same supporter
    told = probe.supporter.experiences[0].replace("You ", "I ", 1)
    backend.enqueue(seeker("hi"), counselor("Question"), "Hi, what's up?")
    backend.enqueue(seeker("i feel alone"), counselor("Others"), told)
    dialogue = await rp.run(backend, scenario)
    assert dialogue.end_reason == "completed" and dialogue.turns[-1].text == told


async def test_a_runaway_unparsable_reply_is_kept_capped(scenario):
    from factory.roleplay.loop import RAW_OUTPUT_CHARS

    rp, backend = make(target_exchanges=3, min_exchanges=1, parse_retries=0), ScriptedBackend()
    exchange(backend, 0)
    backend.enqueue(seeker(SEEKER_LINES[1]), "no idea " * 100_000)  # an 800 KB reply
    dialogue = await rp.run(backend, scenario)
    assert dialogue.end_reason == "error:parse" and dialogue.failure is not None
    (raw,) = dialogue.failure.raw_outputs
    assert len(raw) == RAW_OUTPUT_CHARS and raw.startswith("no idea no idea")


def _scenarios(n: int) -> list[Scenario]:
    rng = random.Random(5)
    out = []
    for i in range(n):
        persona = Persona(
            id=f"p{i}",
            name="Ana",
            age=rng.randint(16, 80),
            gender="woman",
            occupation="nurse",
            style="Opens up slowly.",
            verbosity=rng.choice(["terse", "moderate", "chatty"]),
        )
        out.append(
            Scenario(
                id=f"s{i}",
                persona=persona,
                problem_type="job crisis",
                emotion_type="anxiety",
                initial_intensity=rng.randint(2, 5),
                situation=f"Something happened at work, case {i}.",
            )
        )
    return out


async def test_every_finished_dialogue_opens_with_a_greeting_and_ends_with_a_goodbye():
    rp = RolePlay.from_config(load_config(None, {"backend.kind": "scripted"}))
    finished = 0
    for sc in _scenarios(150):
        dialogue = await rp.run(ScriptedBackend(), sc)
        if dialogue.end_reason not in ("completed", "seeker_closed"):
            continue
        finished += 1
        turns = dialogue.turns
        first_supporter = next(t for t in turns if t.role == "supporter")
        assert turns[0].phase == "opening" and first_supporter.phase == "opening"
        assert first_supporter.strategy in ("Question", "Others")
        closing = [t for t in turns if t.role == "supporter" and t.phase == "closing"]
        assert len(closing) == 1 and closing[0].strategy in (
            "Others",
            "Affirmation and Reassurance",
        )
        # Never ends on an open supporter turn: the last supporter turn is the goodbye.
        assert [t for t in turns if t.role == "supporter"][-1] is closing[0]
        assert turns[-1] is closing[0] or (
            turns[-1].role == "seeker" and turns[-1].phase == "closing"
        )
    assert finished >= 100


async def test_a_turn_of_several_messages_gets_shorter_messages():
    rp = RolePlay.from_config(load_config(None, {"backend.kind": "scripted"}))
    rp.shape.profile.multi_message_scale = {2: 0.1, 3: 0.1}

    def as_many_as_asked(request: ChatRequest) -> str:
        if request.agent != "seeker":
            return canned_response(request)
        asked = request.json_schema["properties"]["messages"]["maxItems"]
        words = ["ok", "so", "yeah"][:asked]
        return seeker(words if asked > 1 else f"line {len(request.messages[-1]['content'])}")

    multi = []
    for sc in _scenarios(40):
        dialogue = await rp.run(ScriptedBackend(as_many_as_asked), sc)
        multi += [t for t in dialogue.turns if t.role == "seeker" and t.utterances]
        single = [t for t in dialogue.turns if t.role == "seeker" and not t.utterances]
    assert multi and all(t.words[1] <= 6 for t in multi)
    assert any(t.words[1] > 6 for t in single)


def favourite_counselor(favourite: str, seed: int):
    """A stand-in counselor with a strong habit: it picks `favourite` half of the time when
    allowed, otherwise any allowed strategy at random."""
    rng = random.Random(seed)

    def respond(request: ChatRequest) -> str:
        if request.agent != "counselor":
            return canned_response(request)
        allowed = request.json_schema["properties"]["strategy"]["enum"]
        pick = favourite if favourite in allowed and rng.random() < 0.5 else rng.choice(allowed)
        return counselor(pick)

    return respond


@pytest.mark.parametrize("control", [True, False])
async def test_the_mix_control_corrects_a_biased_counselor(control):
    cfg = load_config(None, {"backend.kind": "scripted", "roleplay.mix_control": control})
    rp = RolePlay.from_config(cfg)
    backend = ScriptedBackend(favourite_counselor("Reflection of feelings", seed=3))
    used = []
    for sc in _scenarios(300):
        dialogue = await rp.run(backend, sc)
        used += [t.strategy for t in dialogue.turns if t.role == "supporter"]
    from collections import Counter

    achieved = shares(Counter(used))
    jsd = jensen_shannon(achieved, rp.mix.target)
    if control:
        assert jsd <= 0.02, achieved
        assert rp.mix.achieved() == {k: round(v, 4) for k, v in achieved.items()} | {
            k: 0.0 for k in rp.mix.target if k not in achieved
        }
    else:
        assert jsd > 0.1, achieved
