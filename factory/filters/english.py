"""Non-English dialogues: too few of the commonest English function words among the words."""

from __future__ import annotations

from pydantic import Field

from factory.filters.base import Filter, FilterSettings, Outcome
from factory.models import Dialogue
from factory.text import words

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


class EnglishSettings(FilterSettings):
    min_share: float = Field(
        default=0.2, ge=0, le=1, description="of words that are common English words"
    )
    min_words: int = Field(default=20, ge=1, description="shorter dialogues are not judged")


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
        return self.keep(dialogue, score=round(share, 3))
