import random

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


@pytest.mark.parametrize(
    "text",
    [
        "It costs 3.5 dollars, e.g. on www.example.org today.",
        'She asked "can we talk?" It hurt, and I froze.',
        "Write to help@example.org or see www.example.org/help, i.e. the site.",
        "I don't know... maybe it will pass. Dr. Lee said so at 3 p.m. today.",
    ],
)
def test_cleaning_keeps_decimals_abbreviations_urls_and_quotes_intact(text):
    # Each of these was damaged by rejoining split pieces: "3. 5", "e. g.",
    # "www. example. org", 'talk? " It'.
    assert clean_utterance(text, 400) == text


def _random_text(rng: random.Random, count: int) -> list[str]:
    """Sentences that are unique (each clause carries its own token) and full of the
    characters a sentence splitter trips on."""
    tricky = [
        "3.5",
        "e.g. some",
        "i.e. this",
        "www.example.org",
        "me@example.org",
        "Dr. Lee",
        "U.S. trip",
        "2.75%",
        "(really)",
        "'fine'",
        "don't",
    ]
    ends = [".", "!", "?", '?"', "...", ".)"]
    sentences = []
    for i in range(count):
        clauses = []
        for j in range(rng.randint(1, 3)):
            filler = rng.sample(["it", "was", "a", "long", "day", "and", "we", "talked"], 3)
            clauses.append(" ".join([f"tok{i}x{j}", rng.choice(tricky), *filler]))
        sep = rng.choice([", ", "; "])
        opening = rng.choice(["She said", "Then", "Honestly", "Well"])
        if ends[-1] == '?"':
            opening = f'{opening} "'
        sentences.append(f"{opening} {sep.join(clauses)}{rng.choice(ends)}")
    return sentences


def test_property_text_without_repeats_is_returned_unchanged():
    rng = random.Random(0)
    for _ in range(300):
        text = " ".join(_random_text(rng, rng.randint(1, 6)))
        assert clean_utterance(text, 10_000) == text


def test_property_repeats_are_removed_as_whole_sentences():
    rng = random.Random(1)
    for _ in range(300):
        sentences = _random_text(rng, rng.randint(2, 6))
        with_repeats = list(sentences)
        for _ in range(rng.randint(1, 3)):
            copy = rng.choice(sentences)
            position = rng.randint(with_repeats.index(copy) + 1, len(with_repeats))
            with_repeats.insert(position, copy)
        assert clean_utterance(" ".join(with_repeats), 10_000) == " ".join(sentences)


def test_cap_cuts_after_a_sentence_not_inside_a_decimal_or_abbreviation():
    text = "It costs 3.5 dollars. Ask e.g. Dr. Lee about it tomorrow morning please."
    assert clean_utterance(text, 40) == "It costs 3.5 dollars."
