"""Truncated endings: the last turn is cut off mid-sentence (trailing comma, dash, an article or
conjunction as the last word, an unclosed quote) or ends in an ellipsis."""

from __future__ import annotations

import re

from factory.filters.base import Filter, FilterSettings
from factory.models import Dialogue, Verdict

_DANGLING = re.compile(
    r"(?:[,;:\-\u2013(]|\.\.\.|\u2026|\b(?:and|but|or|the|a|an|to|of|with|because|so|that|my|your|i))\s*$",
    re.I,
)


class TruncationFilter(Filter):
    name = "truncation"
    Settings = FilterSettings

    def check(self, dialogue: Dialogue) -> Verdict:
        if not dialogue.turns:
            return self.drop("empty_dialogue")
        last = dialogue.turns[-1].text.strip()
        if _DANGLING.search(last) or last.count('"') % 2:
            return self.drop("truncated_ending", last_words=last[-40:])
        return self.keep()
