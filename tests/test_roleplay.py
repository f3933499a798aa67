"""The loop's stop rules, strategy rule, failure recording and determinism, on the scripted backend."""

import json

import pytest

from factory.backends.scripted import ScriptedBackend
from factory.errors import BackendError
from factory.roleplay.loop import RolePlay
from factory.runs.config import load_config


def seeker(message: str, intensity: int = 3, end: bool = False) -> str:
    return json.dumps({"message": message, "intensity": intensity, "end_conversation": end})


def counselor(strategy: str) -> str:
    return json.dumps({"strategy": strategy, "rationale": "fits"})


def make(**roleplay):
    cfg = load_config(
        None, {"backend.kind": "scripted", **{f"roleplay.{k}": v for k, v in roleplay.items()}}
    )
    return RolePlay.from_config(cfg)


SEEKER_LINES = [
    "I lost my job on Monday.",
    "My savings will last two months at most.",
    "My partner does not know yet and I am scared to tell.",
    "I could call my old manager about openings.",
    "That actually sounds doable, thanks.",
]
SUPPORTER_LINES = [
    "That sounds like a shock. How are you holding up?",
    "Money worries on top of that must be heavy.",
    "It makes sense to be scared of that talk.",
    "Reaching out to people you trust is a good step.",
]


def exchange(
    backend: ScriptedBackend, i: int, strategy: str = "Question", end: bool = False
) -> None:
    backend.enqueue(
        seeker(SEEKER_LINES[i], 4 - i // 2, end), counselor(strategy), SUPPORTER_LINES[i]
    )


async def test_seeker_close_after_min_exchanges_ends_the_dialogue(scenario):
    rp, backend = make(min_exchanges=2, max_exchanges=6), ScriptedBackend()
    exchange(backend, 0, "Question")
    exchange(backend, 1, "Reflection of feelings")
    backend.enqueue(seeker(SEEKER_LINES[2], 2, end=True))
    dialogue = await rp.run(backend, scenario)
    assert dialogue.end_reason == "seeker_closed"
    assert [t.role for t in dialogue.turns] == ["seeker", "supporter"] * 2 + ["seeker"]
    assert dialogue.turns[0].intensity == 4 and dialogue.turns[-1].intensity == 2
    assert dialogue.turns[1].strategy == "Question" and dialogue.turns[1].rationale == "fits"
    assert dialogue.generation.usage.calls == 7
    assert [r.agent for r in backend.history] == ["seeker", "counselor", "supporter"] * 2 + [
        "seeker"
    ]


async def test_close_before_min_exchanges_is_ignored(scenario):
    rp, backend = make(min_exchanges=2, max_exchanges=2), ScriptedBackend()
    exchange(backend, 0, end=True)
    exchange(backend, 1, "Others", end=True)
    dialogue = await rp.run(backend, scenario)
    # Both closes come before min_exchanges=2 exchanges are complete, so both are ignored.
    assert dialogue.end_reason == "max_turns"
    assert len(dialogue.turns) == 4


async def test_max_exchanges_stops(scenario):
    rp, backend = make(min_exchanges=1, max_exchanges=3), ScriptedBackend()
    for i, s in enumerate(["Question", "Others", "Information"]):
        exchange(backend, i, s)
    dialogue = await rp.run(backend, scenario)
    assert dialogue.end_reason == "max_turns"
    assert len(dialogue.turns) == 6
    assert not backend._queue


async def test_repeated_seeker_text_is_a_stall(scenario):
    rp, backend = make(min_exchanges=1, max_exchanges=5), ScriptedBackend()
    exchange(backend, 0)
    backend.enqueue(seeker("I lost my job on monday!"))
    dialogue = await rp.run(backend, scenario)
    assert dialogue.end_reason == "stalled"
    assert len(dialogue.turns) == 3


async def test_repeated_supporter_text_is_a_stall(scenario):
    rp, backend = make(min_exchanges=1, max_exchanges=5), ScriptedBackend()
    exchange(backend, 0)
    backend.enqueue(seeker(SEEKER_LINES[1]), counselor("Others"), SUPPORTER_LINES[0])
    dialogue = await rp.run(backend, scenario)
    assert dialogue.end_reason == "stalled"
    assert dialogue.turns[-1].role == "supporter"


async def test_strategy_cannot_run_more_than_twice(scenario):
    rp, backend = make(min_exchanges=1, max_exchanges=3), ScriptedBackend()
    exchange(backend, 0, "Question")
    exchange(backend, 1, "Question")
    # Third time: the counselor answers Question anyway (a weak model would); the parse
    # rejects it and the retry picks another strategy.
    backend.enqueue(
        seeker(SEEKER_LINES[2]), counselor("Question"), counselor("Information"), SUPPORTER_LINES[2]
    )
    dialogue = await rp.run(backend, scenario)
    strategies = [t.strategy for t in dialogue.turns if t.role == "supporter"]
    assert strategies == ["Question", "Question", "Information"]
    third_counselor_request = [r for r in backend.history if r.agent == "counselor"][2]
    assert "Question" not in third_counselor_request.json_schema["properties"]["strategy"]["enum"]


async def test_unparsable_output_is_retried_then_recorded(scenario):
    rp, backend = make(min_exchanges=1, max_exchanges=3, parse_retries=1), ScriptedBackend()
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
    rp, backend = make(min_exchanges=1, max_exchanges=1), ScriptedBackend()
    backend.enqueue(
        'Here you go: {"message": "Seeker: I lost my job.", "intensity": "4", "end_conversation": "no"}',
        '```json\n{"strategy": "[question]", "rationale": "explore first",}\n```',
        "Supporter: That must be hard. What happened?\nSeeker: well",
    )
    dialogue = await rp.run(backend, scenario)
    assert [t.text for t in dialogue.turns] == [
        "I lost my job.",
        "That must be hard. What happened?",
    ]
    assert dialogue.turns[0].intensity == 4
    assert dialogue.turns[1].strategy == "Question"


async def test_echoed_instructions_are_rejected(scenario):
    rp, backend = make(min_exchanges=1, max_exchanges=1, parse_retries=0), ScriptedBackend()
    backend.enqueue(seeker("Write only your own next message, in the first person"))
    dialogue = await rp.run(backend, scenario)
    assert dialogue.end_reason == "error:parse"
    assert "echoes" in dialogue.failure.message


async def test_backend_failure_is_recorded_with_usage(scenario):
    rp, backend = make(min_exchanges=1, max_exchanges=3), ScriptedBackend()
    exchange(backend, 0)
    backend.enqueue(BackendError("HTTP 500 from server"))
    dialogue = await rp.run(backend, scenario)
    assert dialogue.end_reason == "error:backend"
    assert dialogue.failure.agent == "seeker"
    assert "HTTP 500" in dialogue.failure.message
    assert dialogue.generation.usage.failed_calls == 1
    assert dialogue.generation.usage.calls == 4


async def test_same_scenario_and_seed_give_the_same_dialogue(scenario):
    rp = make(min_exchanges=1, max_exchanges=4)
    first = await rp.run(ScriptedBackend(), scenario)
    second = await rp.run(ScriptedBackend(), scenario)
    assert first.id == second.id
    assert first.turns == second.turns
    other_seed = RolePlay.from_config(load_config(None, {"backend.kind": "scripted", "seed": 8}))
    assert (await other_seed.run(ScriptedBackend(), scenario)).id != first.id


@pytest.mark.parametrize("taxonomy, count", [("esconv", 8), ("extes", 16)])
def test_taxonomies_load(taxonomy, count):
    assert len(make(taxonomy=taxonomy).taxonomy.strategies) == count


async def test_seeker_may_retell_its_own_situation(scenario):
    rp, backend = make(min_exchanges=1, max_exchanges=1, parse_retries=0), ScriptedBackend()
    retold = "Honestly, " + scenario.situation[0].lower() + scenario.situation[1:]
    backend.enqueue(seeker(retold), counselor("Question"), SUPPORTER_LINES[0])
    dialogue = await rp.run(backend, scenario)
    assert dialogue.end_reason == "max_turns"
    assert dialogue.turns[0].text == retold


async def test_a_runaway_unparsable_reply_is_kept_capped(scenario):
    from factory.roleplay.loop import RAW_OUTPUT_CHARS

    rp, backend = make(min_exchanges=1, max_exchanges=3, parse_retries=0), ScriptedBackend()
    exchange(backend, 0)
    backend.enqueue(seeker(SEEKER_LINES[1]), "no idea " * 100_000)  # an 800 KB reply
    dialogue = await rp.run(backend, scenario)
    assert dialogue.end_reason == "error:parse" and dialogue.failure is not None
    (raw,) = dialogue.failure.raw_outputs
    assert len(raw) == RAW_OUTPUT_CHARS and raw.startswith("no idea no idea")
