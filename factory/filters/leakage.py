"""Role leakage and refusals: a turn that talks as an AI, starts with a speaker label, acts
out a stage direction, echoes prompt machinery, or refuses the task."""

from __future__ import annotations

import re

from factory.filters.base import Filter, FilterSettings
from factory.models import Dialogue, Verdict

_AI = r"\b(as an ai|i am an ai|i'm an ai|language model|as a chatbot|i am a bot|openai)\b"
_REFUSAL = (
    r"\b(?:i'm sorry,? but )?i (?:can't|cannot|can not|won't) (?:help|assist) with (?:that|this)\b"
    r"|\bi'm (?:not able|unable) to (?:help|assist) with (?:that|this)\b"
)
_LABEL = (
    r"^\s*\**(seeker|supporter|user|assistant|counselor|therapist|helper)\**\s*(\([^)]*\))?\s*:"
)
# An action in asterisks or brackets ("*smiles warmly*"); a starred single word is emphasis.
_ACTION = r"(?:sigh|nod|smil|laugh|hug|cr(?:y|ies)|paus|shrug|beam|grin|wink|blush)"
_STAGE = rf"\*\s*(?:\w+\s+){{0,3}}?{_ACTION}\w*[^*]{{0,30}}\*|\((?:sighs?|smiles?|laughs?|pauses?|nods?|cries|crying)\)"
_ECHO = (
    r"end_conversation|\"strategy\"\s*:|reply in json|\{\{|\}\}|<\|im_(?:start|end)\|>|\[/?inst\]"
)

_CHECKS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("ai_self_reference", re.compile(_AI, re.I)),
    ("refusal", re.compile(_REFUSAL, re.I)),
    ("speaker_label", re.compile(_LABEL, re.I)),
    ("stage_direction", re.compile(_STAGE, re.I)),
    ("prompt_echo", re.compile(_ECHO, re.I)),
)


class RoleLeakageFilter(Filter):
    name = "role_leakage"
    Settings = FilterSettings

    def check(self, dialogue: Dialogue) -> Verdict:
        for index, turn in enumerate(dialogue.turns):
            for reason, pattern in _CHECKS:
                match = pattern.search(turn.text)
                if match:
                    return self.drop(reason, turn=index, match=match.group(0)[:60])
        return self.keep()
