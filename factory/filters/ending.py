"""How a dialogue ends: not on a supporter question nobody answers because the generator
stopped at its length (the question is left hanging), and, where the recipe asks for it,
with a closing (thanks, goodbye, good wishes) in its last turns. A question that offers more
help ("anything else I can do?") or follows a goodbye is a closing, not a dangling one.
ESConv's people often stop without one, so `require_closing` is off by default."""

from __future__ import annotations

import re

from pydantic import Field

from factory.filters.base import Filter, FilterSettings, Outcome
from factory.models import Dialogue, EndReason
from factory.text import plain_quotes, sentence_spans

# A goodbye or good wishes before the last question ("Take care! How are you feeling?"),
# or a last question that offers more help ("Anything else on your mind?"), make a closing,
# not a question left hanging. Inside the question itself a farewell word is not one ("what
# can you do to take care of yourself?").
_FAREWELL = re.compile(
    r"\b(?:bye|goodbye|good ?night|take care|good luck|best of luck|talk (?:soon|later)"
    r"|see you|best wishes|all the best|stay safe|god bless|wish you"
    r"|have a (?:good|great|nice|wonderful|lovely|blessed) \w+|(?:good|nice|great) (?:day|evening)"
    r"|(?:nice|great|good) (?:talking|chatting|to talk))",
    re.I,
)
_OFFER = re.compile(
    r"\b(?:anything else|anything more|more i can do|any other questions"
    r"|something else (?:you'?d like|you want|to talk|on your mind|i can))",
    re.I,
)
# Thanks and their answers count as a closing in the last turns, not inside a question
# ("Thanks for telling me. How long has it been?" still waits for an answer).
_THANKS = re.compile(
    r"\b(?:thanks?|thank you|thx|you'?re welcome|my pleasure|glad (?:i|to|you|that)"
    r"|hope (?:this|that|i|it) (?:has )?help)",
    re.I,
)


class EndingSettings(FilterSettings):
    unanswered_question: bool = Field(
        default=True,
        description="drop a dialogue stopped at its length on a supporter question",
    )
    length_limit_reasons: list[EndReason] = Field(
        default=["completed", "max_turns"],
        description="end reasons that mean the generator stopped the dialogue at its length",
    )
    require_closing: bool = Field(
        default=False, description="drop a dialogue with no closing in its last turns"
    )
    closing_turns: int = Field(
        default=3, ge=1, le=10, description="how many last turns may hold the closing"
    )


def has_closing(text: str) -> bool:
    """Thanks, a goodbye, good wishes or an offer of more help."""
    text = plain_quotes(text)
    return any(p.search(text) for p in (_FAREWELL, _OFFER, _THANKS))


def closes_around_question(text: str) -> bool:
    """A goodbye before the turn's last sentence, or a last sentence that offers more help."""
    text = plain_quotes(text)
    start, _ = sentence_spans(text)[-1]
    return bool(_FAREWELL.search(text[:start]) or _OFFER.search(text[start:]))


def ends_on_question(text: str) -> bool:
    """The turn's last sentence asks something ("?" last, before any closing quote)."""
    return text.rstrip(" \n\"')]").endswith("?")


class EndingFilter(Filter[EndingSettings]):
    name = "ending"
    Settings = EndingSettings

    def check(self, dialogue: Dialogue) -> Outcome:
        s = self.settings
        if not dialogue.turns:
            return self.keep(dialogue, "empty_dialogue")
        last = dialogue.turns[-1]
        if (
            s.unanswered_question
            and dialogue.end_reason in s.length_limit_reasons
            and last.role == "supporter"
            and ends_on_question(last.text)
            and not closes_around_question(last.text)
        ):
            return self.drop(dialogue, "unanswered_question", last_words=last.text[-60:])
        tail = dialogue.turns[-s.closing_turns :]
        if s.require_closing and not any(has_closing(t.text) for t in tail):
            return self.drop(dialogue, "no_closing", last_words=last.text[-60:])
        return self.keep(dialogue)
