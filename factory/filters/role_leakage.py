"""Role leakage and refusals: a turn that talks as an AI, starts with a speaker or strategy
label, acts out a stage direction, echoes prompt machinery or markup, refuses the task, or
(for the seeker) offers support instead of seeking it."""

from __future__ import annotations

import re

from factory.filters.base import Filter, FilterSettings, Outcome
from factory.models import Dialogue
from factory.text import plain_quotes

_AI = r"\b(as an ai|i am an ai|i'm an ai|language model|as a chatbot|i am a bot|openai)\b"
_REFUSAL = (
    r"\b(?:i'm sorry,? but )?i (?:can't|cannot|can not|won't) (?:help|assist) with (?:that|this)\b"
    r"|\bi'm (?:not able|unable) to (?:help|assist) with (?:that|this)\b"
)
_LABEL = (
    r"^\s*\**(seeker|supporter|user|assistant|counselor|therapist|helper)\**\s*(\([^)]*\))?\s*:"
)
# A strategy name used as a label ("Reflect: ...", "Question:"), or left alone as a turn.
_STRATEGY_LABEL = (
    r"^\s*\[?(?:reflect\w*|questions?|restat\w*|paraphras\w*|affirm\w*|reassur\w*|self-disclos\w*|"
    r"information|suggest\w*|others?)\]?\s*(?::|$)"
)
# An action in asterisks or brackets ("*smiles warmly*"); a starred single word is emphasis.
_ACTION = r"(?:sigh|nod|smil|laugh|hug|cr(?:y|ies)|paus|shrug|beam|grin|wink|blush)"
_STAGE = (
    rf"\*\s*(?:\w+\s+){{0,3}}?{_ACTION}\w*[^*]{{0,30}}\*"
    r"|\((?:sighs?|smiles?|laughs?|pauses?|nods?|cries|crying)\)"
)
_ECHO = (
    r"end_conversation|\"strategy\"\s*:|reply in json|\{\{|\}\}|<\|im_(?:start|end)\|>|\[/?inst\]"
    r"|</?[a-z_]+(?:>|\s|$)|\{#?\d+\}|your next message|write only your"
)
# The seeker talking like the supporter: offering help instead of seeking it.
_SEEKER_AS_SUPPORTER = (
    r"\b(i'?m here (?:to (?:support|help|listen to) you|for you)|i am here (?:to (?:support|help|listen to) you|for you)|"
    r"happy to help you|how can i (?:help|support) you(?: today)?\?)"
)

_CHECKS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("ai_self_reference", re.compile(_AI, re.I)),
    ("refusal", re.compile(_REFUSAL, re.I)),
    ("speaker_label", re.compile(_LABEL, re.I)),
    ("strategy_label", re.compile(_STRATEGY_LABEL, re.I)),
    ("stage_direction", re.compile(_STAGE, re.I)),
    ("prompt_echo", re.compile(_ECHO, re.I)),
)
_ROLE_CHECKS: dict[str, tuple[tuple[str, re.Pattern[str]], ...]] = {
    "seeker": (("role_swap", re.compile(_SEEKER_AS_SUPPORTER, re.I)),),
    "supporter": (),
}


class RoleLeakageFilter(Filter[FilterSettings]):
    name = "role_leakage"
    stateless = True
    Settings = FilterSettings

    def check(self, dialogue: Dialogue) -> Outcome:
        for index, turn in enumerate(dialogue.turns):
            for reason, pattern in (*_CHECKS, *_ROLE_CHECKS[turn.role]):
                match = pattern.search(plain_quotes(turn.text))
                if match:
                    return self.drop(dialogue, reason, turn=index, match=match.group(0)[:60])
        return self.keep(dialogue)
