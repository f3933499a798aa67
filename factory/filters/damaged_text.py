"""Damaged text: the marks a tool leaves when it splits a turn into pieces and joins them back
with spaces: a decimal split at its point ("3. 5"), an abbreviation split at its dots
("e. g."), a web or e-mail address split at its dots ("www. example. org"), a closing quote
cut loose ('talk? " It'). The project's cleaner made these until it learned to keep text
byte for byte; this drops dialogues made before, or by other tools. People's own loose
spacing ("sad ." or "yes , but") is not a sign: a fifth of ESConv's dialogues have it, while
none of these four marks occurs in ESConv or FailedESConv."""

from __future__ import annotations

import re

from factory.filters.base import Filter, FilterSettings, Outcome
from factory.models import Dialogue

MARKS = (
    ("split_number", re.compile(r"\b\d{1,3}\. \d{1,2}\b")),
    ("split_abbreviation", re.compile(r"\b(?:e\. g|i\. e|a\. m|p\. m|u\. s|u\. k)\.", re.I)),
    (
        "split_address",
        re.compile(r"\bwww\. \w|\w\. (?:com|org|net|edu|gov|io)\b|@\w+\. \w", re.I),
    ),
    ("detached_quote", re.compile(r"[.!?,] [\"\u201c\u201d] [A-Za-z]")),
)


class DamagedTextFilter(Filter[FilterSettings]):
    name = "damaged_text"
    stateless = True
    Settings = FilterSettings

    def check(self, dialogue: Dialogue) -> Outcome:
        for index, turn in enumerate(dialogue.turns):
            for reason, pattern in MARKS:
                found = pattern.search(turn.text)
                if found:
                    return self.drop(dialogue, reason, turn=index, text=found.group())
        return self.keep(dialogue)
