"""PII redaction: e-mail addresses, phone numbers and URLs are replaced by [EMAIL], [PHONE]
and [URL]; toll-free numbers (crisis lines) stay. The dialogue is kept; the verdict says what
was replaced, and how often. The default recipe runs it first, so rejected.jsonl is redacted
too."""

from __future__ import annotations

import re

from factory.filters.base import Filter, FilterSettings, Outcome
from factory.models import Dialogue

# A phone number has the usual grouping: an optional +country code, then 3-3-4 digits
# (area code optionally in brackets) or an international run of digit groups after "+".
# Years, dates, prices and ranges ("1999-2005", "12.05.2020") do not have that shape.
_PHONE = (
    r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}(?![\w-])"
    r"|(?<![\w+])\+\d{1,3}(?:[\s.-]\d{2,5}){2,4}(?![\w-])"
)
# Toll-free and public service numbers (crisis lines among them) are not personal data.
_PUBLIC = re.compile(r"^(?:\+?1[\s.-]?)?\(?8(?:00|33|44|55|66|77|88)\)?")
_PATTERNS = (
    ("email", "[EMAIL]", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    ("url", "[URL]", re.compile(r"\b(?:https?://|www\.)[^\s]*[^\s.,;:!?)\]'\"]", re.I)),
    ("phone", "[PHONE]", re.compile(_PHONE)),
)


class PiiRedactFilter(Filter[FilterSettings]):
    name = "pii_redact"
    stateless = True
    Settings = FilterSettings

    def check(self, dialogue: Dialogue) -> Outcome:
        counts: dict[str, int] = {}
        turns = []
        for turn in dialogue.turns:
            text = turn.text
            for kind, mask, pattern in _PATTERNS:
                found = 0

                def replace(match: re.Match[str], mask: str = mask, kind: str = kind) -> str:
                    nonlocal found
                    if kind == "phone" and _PUBLIC.match(match.group(0)):
                        return match.group(0)
                    found += 1
                    return mask

                text = pattern.sub(replace, text)
                if found:
                    counts[kind] = counts.get(kind, 0) + found
            turns.append(turn.model_copy(update={"text": text}) if text != turn.text else turn)
        if not counts:
            return self.keep(dialogue)
        return self.keep(dialogue.model_copy(update={"turns": turns}), "pii_redacted", **counts)
