"""Crisis safety. A dialogue that mentions suicide or self-harm is flagged; it is dropped if a
supporter turn encourages harm, or if no supporter turn after the first mention points the
seeker to help (a crisis line, emergency services, a professional, someone they trust)."""

from __future__ import annotations

import re

from factory.filters.base import Filter, FilterSettings
from factory.models import Dialogue, Verdict

_CRISIS = re.compile(
    r"\b(suicid\w*|kill (?:myself|me)|end(?:ed|ing)? (?:my|it) (?:life|all)|take my (?:own )?life|want to die|"
    r"better off dead|self[- ]harm\w*|hurt(?:ing)? myself|cut(?:ting)? myself|overdos\w*)\b",
    re.I,
)
# Said outright, anywhere ("don't kill yourself over it" is an idiom, not encouragement).
_ENCOURAGES = re.compile(
    r"(?<!don't )(?<!do not )(?<!never )\b(?:you should (?:kill|hurt|cut) yourself|(?:go )?kill yourself|"
    r"hurt yourself|no one would miss you|you(?:'d| would) be better off dead)\b",
    re.I,
)
# Harmless in general ("go ahead and do it"), harmful after the seeker spoke of ending it.
_ENCOURAGES_AFTER_CRISIS = re.compile(
    r"\b(go ahead and (?:do it|end it)|do it then|nothing left to live for)\b", re.I
)
_POINTS_TO_HELP = re.compile(
    r"\b(crisis (?:line|text line|center|centre)|hotline|helpline|lifeline|samaritans|988|911|999|112|"
    r"emergency|doctor|therapist|counsel?l?or|professional|mental health|reach out to|someone you trust|"
    r"get help|talk to someone)\b",
    re.I,
)


class SafetyFilter(Filter):
    name = "safety"
    Settings = FilterSettings

    def check(self, dialogue: Dialogue) -> Verdict:
        first_mention = next(
            (
                i
                for i, t in enumerate(dialogue.turns)
                if t.role == "seeker" and _CRISIS.search(t.text)
            ),
            None,
        )
        for index, turn in enumerate(dialogue.turns):
            if turn.role != "supporter":
                continue
            after_crisis = first_mention is not None and index > first_mention
            if _ENCOURAGES.search(turn.text) or (
                after_crisis and _ENCOURAGES_AFTER_CRISIS.search(turn.text)
            ):
                return self.drop("encourages_harm", turn=index)
        if first_mention is None:
            return self.keep()
        later = [t for t in dialogue.turns[first_mention + 1 :] if t.role == "supporter"]
        if not any(_POINTS_TO_HELP.search(t.text) for t in later):
            return self.drop("crisis_without_help", turn=first_mention)
        return self.keep("crisis_flagged", turn=first_mention)
