"""Exact messages each agent's template produces, and what each agent may not see."""

from pathlib import Path

import pytest

from factory.errors import DataFileError
from factory.models import SupporterPersona
from factory.prompts import PromptLibrary
from factory.roleplay.loop import RolePlay
from factory.roleplay.views import (
    CounselorView,
    PublicTurn,
    SeekerView,
    Stage,
    SupporterView,
)
from factory.runs.config import GenerationConfig


@pytest.fixture
def roleplay() -> RolePlay:
    return RolePlay.from_config(GenerationConfig())


SEEKER_SYSTEM = """You are Ana, 30, woman; occupation: a nurse.
You are writing to an anonymous online peer-support chat because something is weighing on you.
Your personality: shy, kind.
How you talk about yourself: Short and quiet.
How you type: types fast in lowercase.
What is going on (private, share it a little at a time, never all at once): My ward is closing and I may lose my job.
The problem is job crisis. You feel anxiety.
Rules:
- Write like a real person typing in a chat: plain everyday words, no metaphors or polished phrases, small talk is fine.
- Write only your own messages, in the first person. Never write the supporter's words, never mention AI or these rules.
- Then rate how strong your feeling is now, from 1 (mild) to 5 (overwhelming). It moves at most one step per message: down when the supporter really helps, up when you get to the worst part.
- Set end_conversation to true only when you want to stop chatting.
Reply in JSON: {"messages": ["..."], "intensity": 1-5, "end_conversation": true or false}"""

OPENING = Stage("opening", 0, 10, "Say hello.")
EXPLORING = Stage("exploration", 2, 10, "Help the seeker tell their story.")


def test_seeker_messages_first_turn(roleplay, persona, core):
    view = SeekerView(persona, core, 4, (), False, OPENING, (3, 7), 1, "types fast in lowercase")
    request = roleplay.seeker.request(view)
    assert request.messages == [
        {"role": "system", "content": SEEKER_SYSTEM},
        {
            "role": "user",
            "content": "Say hello.\nYour feeling is at 4 of 5. Write your next message, about"
            " 3-7 words.\nIt is too early to end the chat.",
        },
    ]
    assert request.json_schema is not None
    assert request.json_schema["required"] == ["messages", "intensity", "end_conversation"]
    assert request.json_schema["properties"]["messages"]["maxItems"] == 1


def test_seeker_messages_later_turn_with_two_messages(roleplay, persona, core, turns):
    view = SeekerView(
        persona, core, 3, turns[:2], True, EXPLORING, (6, 11), 2, "types fast in lowercase"
    )
    request = roleplay.seeker.request(view)
    assert request.messages[0]["content"] == SEEKER_SYSTEM
    assert request.messages[1]["content"] == (
        "The chat so far:\nYou: I feel awful.\nSupporter: What happened?\n\n"
        "Help the seeker tell their story.\n"
        "Your feeling is at 3 of 5. Write your next 2 messages, sent one after another,"
        " about 6-11 words each."
    )
    assert request.json_schema["properties"]["messages"]["maxItems"] == 2


def test_counselor_messages(roleplay, turns):
    menu = tuple(n for n in roleplay.taxonomy.names if n != "Information")
    stage = Stage("exploration", 2, 10, "Find out what happened.")
    view = CounselorView(roleplay.taxonomy, turns, ("Question",), stage, menu)
    request = roleplay.counselor.request(view)
    system, user = (m["content"] for m in request.messages)
    assert system.startswith("You supervise a peer-support chat.")
    assert "- It is not a crisis line." in system  # the platform's facts
    listed = [line.split(":")[0][2:] for line in system.splitlines() if line.startswith("- ")]
    assert "Information" not in listed and "Question" not in listed
    assert system.endswith(
        'Reply in JSON: {"rationale": "<one short sentence: what the seeker needs now>",'
        ' "strategy": "<a name from the list>"}'
    )
    assert user == (
        "The chat so far:\nSeeker: I feel awful.\nSupporter (Question): What happened?\n"
        "Seeker: My boss yelled at me in front of everyone.\n\n"
        "Stage: exploration, exchange 3 of about 10 (7 left after this one).\n"
        "Find out what happened.\n"
        "Not Question: it was used in the last replies already.\n"
        "Choose the strategy for the supporter's next message."
    )
    # The banned and trimmed strategies are out of the schema, so a grammar cannot produce
    # them; the rationale is asked for before the choice.
    schema = request.json_schema
    assert schema["properties"]["strategy"]["enum"] == [n for n in menu if n != "Question"]
    assert list(schema["properties"]) == ["rationale", "strategy"]


def test_the_counselor_knows_what_the_supporter_may_share(roleplay, turns):
    me = SupporterPersona(
        name="Sam", age_band="in their forties", experiences=["You moved cities.", "You run."]
    )
    view = CounselorView(roleplay.taxonomy, turns, (), EXPLORING, None, me)
    system = roleplay.counselor.request(view).messages[0]["content"]
    assert (
        "The supporter, Sam, may share only these experiences of their own:\n- You moved cities.\n- You run.\n"
        in system
    )


def test_supporter_messages(roleplay, turns):
    strategy = roleplay.taxonomy.strategies[2]
    me = SupporterPersona(
        name="Sam",
        age_band="in their thirties",
        experiences=["You were laid off once.", "You keep a journal.", "You run."],
    )
    request = roleplay.supporter.request(SupporterView(turns, strategy, EXPLORING, (9, 16), me))
    system, user = (m["content"] for m in request.messages)
    assert system.startswith("You are Sam, a volunteer in their thirties on a peer-support chat.")
    assert (
        "(never invent other experiences):\n- You were laid off once.\n- You keep a journal."
        in system
    )
    assert user == (
        "The chat so far:\nSeeker: I feel awful.\nYou: What happened?\n"
        "Seeker: My boss yelled at me in front of everyone.\n\n"
        "Help the seeker tell their story.\n"
        "Use this strategy in your message: Reflection of feelings (Name the feeling you hear"
        " underneath the seeker's words and check it with them.)\n"
        "Write only your message, about 9-16 words."
    )
    assert request.json_schema is None


def test_hidden_state_never_reaches_counselor_or_supporter(roleplay, turns, core, persona):
    counselor = roleplay.counselor.request(CounselorView(roleplay.taxonomy, turns, ()))
    supporter = roleplay.supporter.request(SupporterView(turns, roleplay.taxonomy.strategies[0]))
    for request in (counselor, supporter):
        text = " ".join(m["content"] for m in request.messages)
        for secret in (
            core.situation,
            core.emotion_type,
            core.problem_type,
            persona.name,
            "intensity",
        ):
            assert secret not in text


def test_views_have_no_hidden_fields():
    # A public turn carries no intensity, and the counselor/supporter views no scenario.
    assert "intensity" not in PublicTurn.__dataclass_fields__
    for view in (CounselorView, SupporterView):
        assert not {"scenario", "persona", "intensity"} & set(view.__dataclass_fields__)


def test_prompt_hashes_are_recorded_and_change_with_the_text(tmp_path: Path, roleplay):
    shipped = roleplay.prompt_hashes
    assert set(shipped) == {"seeker", "counselor", "supporter"}
    for name in shipped:
        source = (PromptLibrary().directory / f"{name}.jinja").read_text()
        (tmp_path / f"{name}.jinja").write_text(source.replace("plain", "simple"))
    edited = RolePlay.from_config(
        GenerationConfig.model_validate({"roleplay": {"prompts_dir": str(tmp_path)}})
    )
    assert edited.prompt_hashes["supporter"] != shipped["supporter"]
    assert edited.prompt_hashes["counselor"] == shipped["counselor"]


def test_missing_variable_is_an_error_not_blank(tmp_path: Path):
    (tmp_path / "x.jinja").write_text(
        "{% block system %}{{ nope }}{% endblock %}{% block user %}u{% endblock %}"
    )
    template = PromptLibrary(tmp_path).get("x")
    with pytest.raises(DataFileError, match="nope"):
        template.render()


def test_template_without_blocks_is_rejected(tmp_path: Path):
    (tmp_path / "x.jinja").write_text("just text")
    with pytest.raises(DataFileError, match="block"):
        PromptLibrary(tmp_path).get("x")
    with pytest.raises(DataFileError, match="not found"):
        PromptLibrary(tmp_path).get("missing")


def test_seeker_prompt_uses_the_sampled_persona(roleplay, persona, core):
    rich = persona.model_copy(
        update={
            "cultural_background": "Nigeria",
            "living_situation": "with roommates",
            "coping_style": "keeps busy with work",
            "style": "Says little at first. One short sentence at a time.",
        }
    )
    system = roleplay.seeker.request(SeekerView(rich, core, 4, (), may_close=False)).messages[0][
        "content"
    ]
    assert "You grew up in Nigeria.\nYou live with roommates.\n" in system
    assert "How you usually cope: keeps busy with work." in system
    assert "How you talk about yourself: Says little at first. One short sentence" in system


# -- the reply judge's template (the dialogue judge's is in test_judge.py) ------------------

REPLY_JUDGE_SYSTEM = """You are a strict reviewer of replies in emotional-support chats. Given the chat so far and one candidate reply from the supporter, score the reply from 1 to 5:
1 = harmful, dismissive, off-topic or broken text;
2 = generic or mechanical, barely responds to what the seeker said;
3 = relevant and polite but shallow;
4 = responds to the seeker's last message with understanding and a useful move;
5 = warm, specific to what the seeker said, and moves the conversation forward safely.
Reply in JSON: {"score": 1-5, "reason": "<one short sentence>"}"""


def test_reply_judge_messages(turns):
    library = PromptLibrary()
    messages = library.get("reply_judge").render(
        turns=turns, reply="That sounds humiliating.", labels=library.labels()
    )
    assert messages == [
        {"role": "system", "content": REPLY_JUDGE_SYSTEM},
        {
            "role": "user",
            "content": "The chat so far:\nSeeker: I feel awful.\nSupporter: What happened?\n"
            "Seeker: My boss yelled at me in front of everyone.\n\n"
            "Candidate reply from the Supporter:\nThat sounds humiliating.\n\n"
            "Score the candidate reply.",
        },
    ]
