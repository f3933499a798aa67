import pytest

from factory.text import clean_utterance, shares_span, word_overlap


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Supporter: How are you?", "How are you?"),
        ("**Seeker:** I am tired.", "I am tired."),
        ("Supporter: [Question] What happened next?", "What happened next?"),
        ("What happened? Seeker: nothing much", "What happened?"),
        ("It hurts.\nUser: tell me more", "It hurts."),
        ("Reflect: You sound hurt. Reflect: And tired.", "You sound hurt."),
        ('"I miss her."', "I miss her."),
        ("I feel bad. *sighs* I feel bad. Really.", "I feel bad. Really."),
        ("I am not sure, I am not sure, I am lost.", "I am not sure, I am lost."),
        ("   ", ""),
        ("Supporter:", ""),
    ],
)
def test_clean_utterance(raw, expected):
    assert clean_utterance(raw, 300) == expected


def test_cap_prefers_sentence_then_word_boundary():
    text = "First sentence here. Second sentence is much longer than the cap allows."
    assert clean_utterance(text, 40) == "First sentence here."
    assert clean_utterance("one two three four five six", 12) == "one two"


def test_overlap_and_span():
    assert word_overlap("I feel so alone", "i FEEL so alone!") == 1.0
    assert word_overlap("", "x") == 0.0
    prompt = "Write only your own next message, in the first person, under 40 words."
    assert shares_span("ok write only your own next message in the first person", prompt, 6)
    assert not shares_span("I want to write a message to my sister", prompt, 6)


@pytest.mark.parametrize(
    "prose",
    [
        "This is what happened to me: my dog died last week.",
        "What is wrong with me: am I broken?",
        "I asked myself one thing: why now?",
        "My therapist: she says I should rest.",
    ],
)
def test_prose_with_colons_is_left_whole(prose):
    assert clean_utterance(prose, 300) == prose
