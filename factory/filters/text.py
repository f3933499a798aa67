"""Text normalisation shared by the filters: one definition of a word and of 'the same text'."""

from __future__ import annotations

import hashlib
import re

from factory.models import Dialogue

_WORD = re.compile(r"[a-z0-9']+")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def normalised(text: str) -> str:
    return " ".join(words(text))


def dialogue_text(dialogue: Dialogue) -> str:
    return "\n".join(f"{t.role}: {normalised(t.text)}" for t in dialogue.turns)


def content_hash(dialogue: Dialogue) -> str:
    return hashlib.sha256(dialogue_text(dialogue).encode()).hexdigest()


_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})


def plain_quotes(text: str) -> str:
    """Curly quotes as straight ones, so patterns with apostrophes match either."""
    return text.translate(_QUOTES)
