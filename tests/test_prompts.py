"""Exact messages each agent's template produces, and what each agent may not see."""

from pathlib import Path

import pytest

from factory.errors import DataFileError
from factory.prompts import PromptLibrary
from factory.roleplay.loop import RolePlay
from factory.roleplay.views import CounselorView, PublicTurn, SeekerView, SupporterView
from factory.runs.config import GenerationConfig


@pytest.fixture
def roleplay() -> RolePlay:
    return RolePlay.from_config(GenerationConfig())


SEEKER_SYSTEM = """You are Ana, 30, woman; occupation: a nurse.
You are writing to an online emotional-support chat because something is weighing on you.
Your personality: shy, kind.
How you write: Short and quiet.
What is going on (private, share it a little at a time, never all at once): My ward is closing and I may lose my job.
The problem is job crisis. You feel anxiety.
Rules:
- Write only your own next message, in the first person, under 40 words.
- Never write the supporter's words, never give advice, never mention AI or these rules.
- Then rate how strong your feeling is now, from 1 (mild) to 5 (overwhelming). It only goes down when the supporter really helps.
- Set end_conversation to true only if you feel helped or want to stop.
Reply in JSON: {"message": "...", "intensity": 1-5, "end_conversation": true or false}"""


def test_seeker_messages_first_turn(roleplay, persona, core):
    request = roleplay.seeker.request(SeekerView(persona, core, 4, (), may_close=False))
    assert request.messages == [
        {"role": "system", "content": SEEKER_SYSTEM},
        {
            "role": "user",
            "content": "Your feeling is at 4 of 5. Write your first message to the supporter;"
            " do not say everything yet.",
        },
    ]
    assert request.json_schema is not None
    assert request.json_schema["required"] == ["message", "intensity", "end_conversation"]


def test_seeker_messages_later_turn(roleplay, persona, core, turns):
    request = roleplay.seeker.request(SeekerView(persona, core, 3, turns[:2], may_close=False))
    assert request.messages[0]["content"] == SEEKER_SYSTEM
    assert request.messages[1]["content"] == (
        "The chat so far:\nYou: I feel awful.\nSupporter: What happened?\n\n"
        "Your feeling was at 3 of 5. Write your next message; it is too early to end the chat."
    )


COUNSELOR_SYSTEM = """You supervise an online emotional-support chat. For the supporter's next reply you choose one support strategy and say why in one short sentence.
Strategies:
- Question: Ask an open question that helps the seeker say more about what happened or how they feel.
- Restatement or Paraphrasing: Say back, briefly and in other words, what the seeker has just told you, so they know they were heard.
- Reflection of feelings: Name the feeling you hear underneath the seeker's words and check it with them.
- Self-disclosure: Share a short, relevant experience of your own that shows you understand, then turn back to the seeker.
- Affirmation and Reassurance: Recognise the seeker's strengths or efforts and reassure them that their reaction makes sense.
- Providing Suggestions: Offer one concrete, gentle idea the seeker could try, without pushing.
- Information: Give a useful fact, resource or piece of knowledge that bears on the seeker's problem.
- Others: Greet, thank, close or otherwise keep the conversation warm without a specific technique.
Explore and comfort before you suggest actions. Do not repeat the same strategy again and again.
Reply in JSON: {"strategy": "<a name from the list>", "rationale": "<one short sentence>"}"""


def test_counselor_messages(roleplay, turns):
    view = CounselorView(roleplay.taxonomy, turns, banned=("Question",))
    request = roleplay.counselor.request(view)
    system, user = (m["content"] for m in request.messages)
    assert system == COUNSELOR_SYSTEM
    assert user == (
        "The chat so far:\nSeeker: I feel awful.\nSupporter (Question): What happened?\n"
        "Seeker: My boss yelled at me in front of everyone.\n\n"
        "Do not choose Question: it was used in the last replies already.\n"
        "Choose the strategy for the supporter's next reply."
    )
    # The banned strategy is also out of the schema, so a grammar cannot produce it.
    assert "Question" not in request.json_schema["properties"]["strategy"]["enum"]
    assert len(request.json_schema["properties"]["strategy"]["enum"]) == 7


def test_supporter_messages(roleplay, turns):
    strategy = roleplay.taxonomy.strategies[2]
    request = roleplay.supporter.request(SupporterView(turns, strategy))
    assert request.messages == [
        {
            "role": "system",
            "content": "You are a warm, patient supporter in an online emotional-support chat."
            " You are not a therapist and never claim to be one. You know only what the seeker"
            " has told you.\nWrite one reply in plain, natural English, under 45 words: no lists,"
            " no name labels, no stage directions.",
        },
        {
            "role": "user",
            "content": "The chat so far:\nSeeker: I feel awful.\nYou: What happened?\n"
            "Seeker: My boss yelled at me in front of everyone.\n\n"
            "Use this strategy in your reply: Reflection of feelings (Name the feeling you hear"
            " underneath the seeker's words and check it with them.)\nWrite only your reply.",
        },
    ]
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
        (tmp_path / f"{name}.jinja").write_text(source.replace("warm", "kind"))
    edited = RolePlay.from_config(
        GenerationConfig.model_validate({"roleplay": {"prompts_dir": str(tmp_path)}})
    )
    assert edited.prompt_hashes["supporter"] != shipped["supporter"]
    assert edited.prompt_hashes["seeker"] == shipped["seeker"]


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
    assert "How you write: Says little at first. One short sentence at a time." in system


# -- the judges' templates ------------------------------------------------------------------

JUDGE_SYSTEM = """You are a strict reviewer of emotional-support conversations used to train supportive chat models. Score the conversation on each criterion from 1 to 5.
- empathy: 1 = cold or dismissive; 3 = polite but generic; 5 = the supporter clearly understands and validates the seeker's feelings.
- relevance: 1 = replies ignore what the seeker said; 3 = loosely on topic; 5 = every reply responds to the seeker's last message.
- strategy_adherence: 1 = replies do not match their labelled strategy; 3 = some do; 5 = every reply carries out its labelled strategy.
- naturalness: 1 = robotic, repetitive or broken text; 3 = understandable but stiff; 5 = reads like two real people talking.
- persona_consistency: 1 = the seeker contradicts themselves or switches roles; 3 = minor slips; 5 = the seeker stays one consistent person.
- safety: 1 = harmful advice or ignores a crisis; 3 = nothing harmful but misses risk cues; 5 = safe throughout and points to help when needed.
Reply in JSON: {"empathy": 1-5, "relevance": 1-5, "strategy_adherence": 1-5, "naturalness": 1-5, "persona_consistency": 1-5, "safety": 1-5, "comment": "<one sentence>"}"""


def test_judge_messages(persona, core, turns):
    from factory.backends.scripted import ScriptedBackend
    from factory.filters.judge import JudgeFilter
    from factory.models import Dialogue, GenerationInfo, Turn

    dialogue = Dialogue(
        id="d1",
        persona=persona,
        scenario=core,
        turns=[
            *(Turn(role=t.role, text=t.text, strategy=t.strategy) for t in turns),
            Turn(role="supporter", text="That sounds humiliating."),
        ],
        end_reason="seeker_closed",
        generation=GenerationInfo(
            backend="scripted",
            model="m",
            seed=1,
            taxonomy="esconv",
            prompt_hashes={},
            tool_version="0",
        ),
    )
    request = JudgeFilter(backend=ScriptedBackend()).request(dialogue)
    assert request.messages == [
        {"role": "system", "content": JUDGE_SYSTEM},
        {
            "role": "user",
            "content": "Seeker profile: 30, woman, a nurse, shy, kind\nThe conversation:\n"
            "Seeker: I feel awful.\nSupporter (Question): What happened?\n"
            "Seeker: My boss yelled at me in front of everyone.\n"
            "Supporter (no strategy): That sounds humiliating.\n\nScore it.",
        },
    ]
    assert request.agent == "judge" and request.json_schema is not None


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
