"""Truncated endings: the last turn is cut off mid-sentence (trailing comma or dash, an article,
conjunction or "of"/"with" as the last word, an unclosed quote in the last sentence) or ends in
an ellipsis. Emoticons (":(") are fine endings, and so is a comma after a closing ("You too,
goodbye,", "Thanks,"): people type one there, and the goodbye is whole."""

from __future__ import annotations

import re

from factory.filters.base import Filter, FilterSettings, Outcome
from factory.filters.ending import has_closing
from factory.models import Dialogue
from factory.text import sentence_spans

_DANGLING = re.compile(
    r"(?:[,;\-\u2013]|\.\.\.|\u2026|\b(?:and|but|or|the|a|an|of|with|because))\s*$", re.I
)
_EMOTICON = re.compile(r"(?:[:;=]-?[()\[\]dpo/\\|]|<3|\^\^|xd)\s*$", re.I)


class TruncationFilter(Filter[FilterSettings]):
    name = "truncation"
    stateless = True
    Settings = FilterSettings

    def check(self, dialogue: Dialogue) -> Outcome:
        if not dialogue.turns:
            return self.drop(dialogue, "empty_dialogue")
        last = dialogue.turns[-1].text.strip()
        if _EMOTICON.search(last):
            return self.keep(dialogue)
        # A quote closed after a full stop ('... is going." It might') belongs to the
        # sentence before it, so count quotes in whole sentences, not after the last stop.
        start, _ = sentence_spans(last)[-1]
        open_quote = last[start:].count('"') % 2
        if last.endswith(",") and not open_quote and has_closing(last[start:]):
            return self.keep(dialogue, "closing_with_comma")
        if _DANGLING.search(last) or open_quote:
            return self.drop(dialogue, "truncated_ending", last_words=last[-40:])
        return self.keep(dialogue)
