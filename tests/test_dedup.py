"""Exact and MinHash dedup on a planted set: every exact and near copy is found, whatever
batch it falls in and whichever comes first; distinct dialogues are never merged."""

import random

import pytest

from factory import text as text_module
from factory.filters.exact_dedup import ExactDedupFilter
from factory.filters.minhash_dedup import MinHashDedupFilter
from factory.filters.near_duplicate_index import lsh_bands
from factory.models import Turn
from factory.text import (
    _APOSTROPHES,
    _WORD,
    normalised,
    normalised_transcript,
    normalised_transcripts,
)
from tests.test_filters import dialogue

VOCABULARY = [f"w{i}" for i in range(3000)]


def distinct(n: int, seed: int = 5):
    rng = random.Random(seed)
    sentences = [
        [" ".join(rng.choices(VOCABULARY, k=20)) + "." for _ in range(5)] for _ in range(n)
    ]
    return [
        dialogue(id=f"u{i}", seeker=s, supporter=[x.capitalize() for x in reversed(s)])
        for i, s in enumerate(sentences)
    ]


def near_copy(d, changed: int, rng: random.Random):
    turns = list(d.turns)
    for _ in range(changed):
        j = rng.randrange(len(turns))
        words = turns[j].text.split()
        words[rng.randrange(len(words))] = "changed"
        turns[j] = turns[j].model_copy(update={"text": " ".join(words)})
    return d.model_copy(update={"id": f"near-{d.id}", "turns": turns})


def exact_copy(d):
    turns = [
        t.model_copy(update={"text": "  " + t.text.upper().replace(".", "!")}) for t in d.turns
    ]
    return d.model_copy(update={"id": f"exact-{d.id}", "turns": turns})


def in_batches(flt, rows, size):
    return [o for i in range(0, len(rows), size) for o in flt.check_batch(rows[i : i + size])]


@pytest.mark.parametrize("batch", [1, 37, 1000])
def test_planted_copies_are_all_found_and_distinct_dialogues_kept(batch):
    rng = random.Random(9)
    base = distinct(400)
    planted = [exact_copy(d) for d in base[:50]] + [near_copy(d, 1, rng) for d in base[50:100]]
    rows = [*base, *planted]
    # A copy may come before its original. (One changed word in 200: near copies that LSH
    # at these bands misses less than once in 10,000; bench/dedup.py measures more.)
    rng.shuffle(rows)
    exact = in_batches(ExactDedupFilter(), rows, batch)
    survivors = [o.dialogue for o in exact if o.verdict.keep]
    near = in_batches(MinHashDedupFilter(), survivors, batch)
    dropped = {o.dialogue.id: o.verdict for o in [*exact, *near] if not o.verdict.keep}
    assert len(dropped) == 100
    assert {v.reason for v in dropped.values()} == {"exact_duplicate", "near_duplicate"}
    for copy in planted:
        original = copy.id.split("-", 1)[1]
        # One of each pair goes, and it names the other.
        gone, other = (copy.id, original) if copy.id in dropped else (original, copy.id)
        assert dropped[gone].details["duplicate_of"] == other


def test_near_duplicate_reports_its_similarity_and_keeps_the_earlier():
    a, b = distinct(2)
    copy = near_copy(a, 1, random.Random(1))
    outcomes = MinHashDedupFilter().check_batch([a, b, copy])
    assert [o.verdict.reason for o in outcomes] == ["ok", "ok", "near_duplicate"]
    assert 0.8 <= outcomes[2].verdict.score < 1
    assert outcomes[0].verdict.score == 0


def test_short_and_empty_dialogues_are_compared_too():
    short = dialogue(id="s1", seeker=["Hi."], supporter=[])
    again = dialogue(id="s2", seeker=["hi"], supporter=[])
    other = dialogue(id="s3", seeker=["Bye."], supporter=[])
    empty = dialogue(id="e", seeker=[""], supporter=[])
    outcomes = MinHashDedupFilter().check_batch([short, again, other, empty])
    assert [o.verdict.reason for o in outcomes] == ["ok", "near_duplicate", "ok", "ok"]


def test_the_bands_are_datasketchs():
    # The LSH trade-off datasketch picks for its defaults (threshold 0.8, 128 permutations).
    assert lsh_bands(0.8, 128) == (9, 13)


@pytest.mark.parametrize(
    "text",
    [
        "I LOST my job -- last week, and I'm lost!!",
        "  tabs\tand\nnewlines  ",
        "caf\u00e9 na\u00efve \u2019quoted\u2019 \u0130stanbul \u212aelvin",
        "",
        "...",
    ],
)
def test_normalised_is_the_words_joined(text):
    assert normalised(text) == " ".join(_words(text))


def _words(text: str) -> list[str]:
    """The reference word: ASCII letters, digits and apostrophes, curly ones made straight."""
    return _WORD.findall(text.translate(_APOSTROPHES).lower())


def test_a_copy_with_curly_apostrophes_is_the_same_text():
    # Models write \u2019 where ESConv writes ': the same words, so the same transcript.
    assert normalised("I don\u2019t know, it\u02bcs my mom\u2018s") == "i don't know it's my mom's"
    straight = dialogue(id="a", seeker=["I don't know what I'm doing."])
    curly = dialogue(id="b", seeker=["I don\u2019t know what I\u2019m doing."])
    assert normalised_transcript(curly) == normalised_transcript(straight)
    assert normalised_transcripts([curly, straight]) == [normalised_transcript(straight)] * 2


def test_a_transcript_follows_a_new_turns_list():
    d = dialogue(id="a")
    before = normalised_transcript(d)
    changed = d.model_copy(update={"turns": [Turn(role="seeker", text="Something else.")]})
    assert normalised_transcript(changed) == "seeker: something else"
    assert normalised_transcript(d) == before


@pytest.mark.parametrize(
    "texts",
    [
        ["I LOST my job -- last week!!", "  tabs\tand\nnewlines  ", "", "...", "ok"],
        ["caf\u00e9 na\u00efve", "plain ASCII here", "\u2019quoted\u2019", "don\u2019t it\u02bcs"],
        ["", ""],
    ],
)
def test_a_transcript_is_each_turn_normalised(texts):
    # What dedup compares: each turn's role and its words, one turn a line, empty turns too.
    turns = [Turn(role="seeker" if i % 2 else "supporter", text=t) for i, t in enumerate(texts)]
    d = dialogue(id="n").model_copy(update={"turns": turns})
    expected = "\n".join(f"{t.role}: {' '.join(_words(t.text))}" for t in turns)
    assert normalised_transcript(d) == expected


def _expected_transcript(d) -> str:
    return "\n".join(f"{t.role}: {' '.join(_words(t.text))}" for t in d.turns)


@pytest.mark.parametrize("seed", range(6))
def test_a_batch_is_normalised_as_each_dialogue_alone(seed):
    # The batch form joins a batch's turns with control bytes and squeezes spaces in numpy:
    # whatever the texts hold (runs of spaces and punctuation at either end, empty turns,
    # capitals, non-ASCII, the separator bytes themselves), each result is the one-by-one one.
    rng = random.Random(seed)
    pieces = ["word", "Caps", "it's", "42", " ", "  ", "\t", "\n", "...", "!", ":", "-", "'"]
    if seed % 2:
        pieces += ["\x00", "\x01", "\x02", "\x03"]  # a text holding a separator byte
    if seed % 3 == 0:
        pieces += ["caf\u00e9", "\u0130stanbul"]
    batch = []
    for i in range(60):
        turns = [
            Turn(
                role=rng.choice(["seeker", "supporter"]),
                text="".join(rng.choices(pieces, k=rng.randrange(0, 12))),
            )
            for _ in range(rng.randrange(1, 6))
        ]
        batch.append(dialogue(id=f"b{i}").model_copy(update={"turns": turns}))
    text_module._TRANSCRIPTS.clear()
    assert normalised_transcripts(batch) == [_expected_transcript(d) for d in batch]
    # Filled for the next filter of the same batch: a second call answers from the cache.
    assert all(id(d.turns) in text_module._TRANSCRIPTS for d in batch)
    # The same strings from (role, text) pairs (a published version's two columns).
    pairs = [[(t.role, t.text) for t in d.turns] for d in batch]
    assert text_module.turns_transcripts(pairs) == [_expected_transcript(d) for d in batch]


def test_of_equally_close_matches_the_first_indexed_is_named():
    from factory.filters.near_duplicate_index import NearDuplicateIndex

    rng = random.Random(3)
    texts = [" ".join(rng.choices(VOCABULARY, k=100)) for _ in range(10)]
    texts[8] = texts[1]  # rows 1 and 8: a set of the two iterates 8 first
    index = NearDuplicateIndex(0.8, 128, 5, 1)
    index.add_batch([f"k{i}" for i in range(10)], texts)
    near = texts[1].split()
    near[50] = "changed"
    (match,) = index.match_batch(["new"], [" ".join(near)], add=False)
    assert match.key == "k1" and 0.8 <= match.similarity < 1
