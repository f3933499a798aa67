"""Non-English dialogues: too few of the commonest English function words among the words,
or a few turns in another language (a generator that switches language for a while)."""

from __future__ import annotations

import re

from pydantic import Field

from factory.filters.base import Filter, FilterSettings, Outcome
from factory.models import Dialogue
from factory.text import letter_words, words

_ENGLISH = frozenset(
    [
        "the",
        "a",
        "an",
        "and",
        "or",
        "but",
        "to",
        "of",
        "in",
        "on",
        "at",
        "for",
        "with",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "am",
        "i",
        "you",
        "he",
        "she",
        "it",
        "we",
        "they",
        "me",
        "my",
        "your",
        "our",
        "their",
        "this",
        "that",
        "what",
        "how",
        "why",
        "when",
        "do",
        "does",
        "did",
        "not",
        "no",
        "so",
        "just",
        "have",
        "has",
        "had",
        "can",
        "will",
        "would",
        "could",
        "should",
        "about",
        "there",
        "here",
        "if",
        "then",
        "than",
        "too",
        "very",
        "really",
        "feel",
        "like",
        "know",
        "think",
    ]
)


# The commonest function words of the languages a generator most often slips into (Spanish,
# French, German, Italian, Portuguese, Dutch), less those that are English words too ("a",
# "no", "die", "son", "come").
_OTHER_WORDS = """
    el la los las que del y es en por para con una un lo mi tu te se muy pero como esto esta
    está más yo estoy siento eres tienes puedes cuando porque también todo nada algo bien hay
    je il elle nous vous les des et pas ne qui dans pour avec sur mais c'est j'ai moi toi ce
    cette suis sont au aux du le de mon très
    der das und ist nicht ich du sie wir ihr ein eine einen mit auf zu den dem sich auch aber
    wie mir dich mich sehr kann habe bin bist wenn oder für
    di che non sono ma molto questo sei ho hai anche perché
    eu você não isso muito estou mas da os em
    ik het een niet van zijn voor op maar ook
"""
_OTHER = frozenset(_OTHER_WORDS.split())
# Contractions are English evidence that the function-word list misses ("I'm", "that's").
_CONTRACTION = re.compile(r"^[a-z]+(?:n't|'m|'s|'re|'ve|'ll|'d)$")


def other_language(text: str, min_words: int) -> bool:
    """One turn that reads as another language: mostly letters outside the Latin script; or,
    with `min_words` words or more, more function words of another language than of English,
    under 10% English function words among 8 or more words, or two or more accented words
    (English has few) with under 20% English function words."""
    letters = [c for c in text if c.isalpha()]
    if len(letters) >= 10 and sum(c > "\u024f" for c in letters) >= len(letters) / 2:
        return True
    tokens = letter_words(text)
    if len(tokens) < min_words:
        return False
    english = sum(w in _ENGLISH or bool(_CONTRACTION.match(w)) for w in tokens)
    other = sum(w in _OTHER for w in tokens)
    accented = sum(not w.isascii() for w in tokens)
    share = english / len(tokens)
    return (
        (other >= 2 and other > english)
        or (share < 0.1 and len(tokens) >= 8)
        or (accented >= 2 and share < 0.2)
    )


class EnglishSettings(FilterSettings):
    min_share: float = Field(
        default=0.2, ge=0, le=1, description="of words that are common English words"
    )
    min_words: int = Field(default=20, ge=1, description="shorter dialogues are not judged")
    min_other_language_turns: int = Field(
        default=2, ge=1, description="this many turns in another language drop the dialogue"
    )
    min_turn_words: int = Field(
        default=6, ge=1, description="shorter Latin-script turns are not judged one by one"
    )


class EnglishFilter(Filter[EnglishSettings]):
    name = "english"
    stateless = True
    Settings = EnglishSettings

    def check(self, dialogue: Dialogue) -> Outcome:
        s = self.settings
        tokens = [w for t in dialogue.turns for w in words(t.text)]
        raw_letters = sum(len(t.text) for t in dialogue.turns)
        if len(tokens) < s.min_words and raw_letters > 5 * s.min_words:
            return self.drop(
                dialogue, "non_english", score=0.0
            )  # long text, hardly any Latin words
        if len(tokens) < s.min_words:
            return self.keep(dialogue, "too_short_to_judge")
        share = sum(w in _ENGLISH for w in tokens) / len(tokens)
        if share < s.min_share:
            return self.drop(dialogue, "non_english", score=round(share, 3))
        # A few turns in another language hardly move the whole dialogue's share.
        other = [
            i for i, t in enumerate(dialogue.turns) if other_language(t.text, s.min_turn_words)
        ]
        if len(other) >= s.min_other_language_turns:
            return self.drop(dialogue, "other_language_turns", score=round(share, 3), turns=other)
        return self.keep(dialogue, score=round(share, 3))
