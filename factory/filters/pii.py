"""PII redaction: e-mail addresses, phone numbers and URLs are replaced by [EMAIL], [PHONE]
and [URL]. The dialogue is kept; the verdict says what was replaced, and how often."""

from __future__ import annotations

import re

from factory.filters.base import Filter, FilterSettings, Outcome
from factory.models import Dialogue

_PATTERNS = (
    ("email", "[EMAIL]", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    ("url", "[URL]", re.compile(r"\b(?:https?://|www\.)\S+", re.I)),
    ("phone", "[PHONE]", re.compile(r"(?<!\w)(?:\+?\d[\d\s().-]{7,}\d)(?!\w)")),
)


class PiiRedactFilter(Filter):
    name = "pii_redact"
    Settings = FilterSettings

    def apply(self, dialogue: Dialogue) -> Outcome:
        counts: dict[str, int] = {}
        turns = []
        for turn in dialogue.turns:
            text = turn.text
            for kind, mask, pattern in _PATTERNS:
                text, found = pattern.subn(mask, text)
                if found:
                    counts[kind] = counts.get(kind, 0) + found
            turns.append(turn.model_copy(update={"text": text}) if text != turn.text else turn)
        if not counts:
            return Outcome(dialogue, self.keep())
        redacted = dialogue.model_copy(update={"turns": turns})
        return Outcome(redacted, self.keep("pii_redacted", **counts))
