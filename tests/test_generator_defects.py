"""Defects a generator makes and a whole-dialogue share misses: a few turns in another
language, one line sent turn after turn, an ending on an unanswered question or without a
closing. Planted in crafted dialogues; the false drops on real ESConv are in BENCHMARKS.md."""

import pytest

from factory.filters.english import other_language
from tests.test_filters import SEEKER, SHARED, SUPPORTER, dialogue, verdict

# Written for these tests; bench/filters.py plants another set.
OTHER_LANGUAGE = [
    "Lo siento mucho, entiendo que esta situación es muy difícil para ti.",
    "Je comprends tout à fait ce que tu ressens en ce moment.",
    "Das tut mir wirklich leid, ich kann gut verstehen, wie du dich fühlst.",
    "Mi dispiace tanto, capisco che questo periodo sia molto pesante per te.",
    "Você já pensou em procurar a ajuda de um profissional?",
    "Wat vervelend voor je, ik begrijp dat het een zware tijd is.",
    "Bardzo mi przykro, rozumiem że to dla ciebie trudny czas w pracy.",
    "Çok üzgünüm, bu durumun senin için ne kadar zor olduğunu anlıyorum.",  # noqa: RUF001
    "Jag förstår hur du känner dig, det låter verkligen jobbigt just nu.",
    "我很理解你现在的感受，失去工作真的让人很难过。",  # noqa: RUF001
    "Мне очень жаль, я понимаю, как тебе сейчас тяжело.",
    "お気持ちはよくわかります。無理をしないでくださいね。",
]
ENGLISH_EDGES = [
    "Pretty much... over 25 years actually",  # no function word, but short
    "I'm feeling pretty good right now.",  # contractions are English
    "Queen bed, small desk, rug.",
    "We had a great time at the café in Zürich last summer.",  # one or two accents
    "1. Better job 2. Healthier habits 3. Better financial situation",
    "I said 'adiós' and 'merci' and 'danke' to the three of them.",
]


def numbered(lines: list[str], n: int) -> list[str]:
    """n distinct turns (the repeated share counts exact copies) from a few lines."""
    return [f"On day {i}: {lines[i % len(lines)]}" for i in range(n)]


@pytest.mark.parametrize("text", OTHER_LANGUAGE)
def test_a_turn_in_another_language_is_recognised(text):
    assert other_language(text, min_words=6)


@pytest.mark.parametrize("text", ENGLISH_EDGES)
def test_terse_or_borrowing_english_turns_are_english(text):
    assert not other_language(text, min_words=6)


def test_two_turns_in_another_language_drop_a_dialogue_one_does_not():
    supporter = [SUPPORTER[0], OTHER_LANGUAGE[0], SUPPORTER[2], OTHER_LANGUAGE[9], SUPPORTER[4]]
    v = verdict("english", dialogue(supporter=supporter))
    assert (v.keep, v.reason, v.details["turns"]) == (False, "other_language_turns", [3, 7])
    # The whole-dialogue share alone would keep it.
    assert v.score is not None and v.score >= 0.2
    one = [SUPPORTER[0], OTHER_LANGUAGE[1], *SUPPORTER[2:]]
    assert verdict("english", dialogue(supporter=one)).keep
    assert not verdict("english", dialogue(supporter=one), min_other_language_turns=1).keep


def test_a_line_sent_three_times_in_a_row_drops_however_long_the_dialogue():
    line = "I'm so sorry to hear that, I am here for you."
    seeker, supporter = numbered(SEEKER, 20), numbered(SUPPORTER, 19)
    supporter[7:10] = [line, line, line.lower() + "!"]
    v = verdict("repetition", dialogue(seeker=seeker, supporter=supporter))
    assert (v.keep, v.reason, v.score, v.details["turn"]) == (False, "repeated_line", 3, 15)
    # Three of 19 supporter turns is under the repeated share; only the run catches it.
    assert verdict("repetition", dialogue(seeker=seeker, supporter=supporter), max_line_run=3).keep


def test_a_near_identical_line_counts_and_a_changed_one_breaks_the_run():
    base = "It sounds like you have been carrying a lot on your own for a long time now"
    near = base + " too"  # 17 of 18 words shared
    other = "Have you been able to talk to anyone in your family about the rent?"
    seeker = numbered(SEEKER, 8)
    looping = [SUPPORTER[0], base, near, base, *SUPPORTER[1:]]
    assert verdict("repetition", dialogue(seeker=seeker, supporter=looping)).reason == (
        "repeated_line"
    )
    broken = [SUPPORTER[0], base, near, other, base, *SUPPORTER[1:]]
    assert verdict("repetition", dialogue(seeker=seeker, supporter=broken)).keep


def test_short_courtesies_repeated_in_a_row_are_kept():
    seeker = [SEEKER[0], "ok thank you", "ok thank you", "ok thank you", SEEKER[4]]
    assert verdict("repetition", dialogue(seeker=seeker)).keep


@pytest.mark.parametrize("end_reason", ["completed", "max_turns"])
def test_a_question_left_hanging_at_the_length_limit_drops(end_reason):
    d = dialogue(end_reason=end_reason)  # the supporter speaks last
    asked = [*d.turns[:-1], d.turns[-1].model_copy(update={"text": "How long has it been?"})]
    v = verdict("ending", d.model_copy(update={"turns": asked}))
    assert (v.keep, v.reason) == (False, "unanswered_question")
    for question in (
        "Thank you for telling me. What did your boss say?",
        "What could you do to take care of yourself this week?",  # farewell words, no farewell
        "Could you make time to read, or something else you enjoy?",  # no offer of more help
    ):
        asked[-1] = asked[-1].model_copy(update={"text": question})
        assert not verdict("ending", d.model_copy(update={"turns": asked})).keep, question


@pytest.mark.parametrize(
    "last, end_reason",
    [
        ("How long has it been?", "seeker_closed"),  # the seeker chose to stop
        ("How long has it been?", "imported"),  # a person's dialogue: not the generator's limit
        ("Take care of yourself. Is there anything else on your mind?", "completed"),
        ("Is there anything else I can help you with?", "max_turns"),
        ("You too! Have a great day. How long until the interview?", "completed"),
        ("I hope the interview goes well. Good luck!", "completed"),
    ],
)
def test_endings_that_are_kept(last, end_reason):
    d = dialogue(end_reason=end_reason)
    turns = [*d.turns[:-1], d.turns[-1].model_copy(update={"text": last})]
    assert verdict("ending", d.model_copy(update={"turns": turns})).keep


def test_no_closing_drops_only_when_the_recipe_asks():
    seeker = [*SEEKER[:4], "I will call my old boss tomorrow morning then."]
    abrupt = dialogue(seeker=seeker, supporter=[*SUPPORTER[:4], "That sounds like a plan."])
    assert verdict("ending", abrupt).keep
    v = verdict("ending", abrupt, require_closing=True)
    assert (v.keep, v.reason) == (False, "no_closing")
    # The seeker's thanks, two turns before the end, is a closing within the last three.
    thanked = dialogue(supporter=[*SUPPORTER[:4], "That sounds like a plan."])
    assert verdict("ending", thanked, require_closing=True).keep
    assert not verdict("ending", thanked, require_closing=True, closing_turns=1).keep


def test_a_situation_of_a_few_words_is_a_label_and_not_compared():
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("faiss")
    from tests.test_filters import _emotion_dialogue

    # ESConv situations like "finals" or "masters degree" embed far from a story told in full.
    label = _emotion_dialogue("anxiety", situation="garden overgrown")
    story = _emotion_dialogue(
        "anxiety", situation="My cat died last spring and the garden she loved is overgrown."
    )
    assert verdict("emotion_consistency", label).keep
    assert verdict("emotion_consistency", label, min_situation_words=0).reason == "off_situation"
    assert verdict("emotion_consistency", story).reason == "off_situation"


def test_a_turn_in_another_script_is_named_for_its_language_not_empty():
    supporter = [SUPPORTER[0], OTHER_LANGUAGE[9], SUPPORTER[2], OTHER_LANGUAGE[10], SUPPORTER[4]]
    d = dialogue(supporter=supporter)
    assert verdict("structure", d).keep
    assert verdict("english", d).reason == "other_language_turns"
    blank = dialogue(supporter=[SUPPORTER[0], "...", *SUPPORTER[2:]])
    assert verdict("structure", blank).reason == "empty_turn"


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data is not present")
def test_on_real_esconv_the_new_checks_drop_nothing_and_catch_what_is_planted():
    import random

    from factory.filters import FILTERS
    from factory.importers.esconv import import_esconv

    splits = [SHARED / "esconv" / f"esconv_{s}.jsonl" for s in ("valid", "test")]
    real, _ = import_esconv(splits)
    checks = {name: FILTERS[name]() for name in ("english", "repetition", "ending")}
    new_reasons = {"other_language_turns", "repeated_line", "unanswered_question"}
    for flt in checks.values():
        assert not {o.verdict.reason for o in flt.check_batch(real)} & new_reasons
    rng = random.Random(5)
    line = "I hear you, and it makes sense that you feel this way right now."
    foreign, looping, hanging = [], [], []
    for d in real:
        spots = [i for i, t in enumerate(d.turns) if t.role == "supporter"][1:]
        turns = list(d.turns)
        for i in rng.sample(spots, 2):
            turns[i] = turns[i].model_copy(update={"text": rng.choice(OTHER_LANGUAGE)})
        foreign.append(d.model_copy(update={"turns": turns}))
        turns = list(d.turns)
        start = rng.randrange(len(spots) - 2)
        for i in spots[start : start + 3]:
            turns[i] = turns[i].model_copy(update={"text": line})
        looping.append(d.model_copy(update={"turns": turns}))
        asked = [*d.turns[: spots[0] + 1]]
        asked[-1] = asked[-1].model_copy(update={"text": "What happened after that?"})
        hanging.append(d.model_copy(update={"turns": asked, "end_reason": "max_turns"}))
    for name, planted, reason in (
        ("english", foreign, "other_language_turns"),
        ("repetition", looping, "repeated_line"),
        ("ending", hanging, "unanswered_question"),
    ):
        caught = [o.verdict.reason for o in checks[name].check_batch(planted)]
        assert caught.count(reason) / len(planted) >= 0.95, (name, caught.count(reason))
