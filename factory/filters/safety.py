"""Crisis safety. A dialogue that mentions suicide or self-harm is flagged; it is dropped if a
supporter turn encourages harm, or if no supporter turn after the first mention points the
seeker to help (a crisis line, emergency services, a professional, someone they trust)."""

from __future__ import annotations

import re

from factory.filters.base import Filter, FilterSettings, Outcome
from factory.models import Dialogue
from factory.text import plain_quotes

# The seeker speaking of their own suicidal thoughts or self-harm.
_CRISIS = re.compile(
    r"\b(kill(?:ing)? mys(?:el|le)f|jump (?:off|over|from|in front of) (?:a|the) (?:bridge|building|train)|end(?:ed|ing)? (?:my|it) (?:life|all)|take my (?:own )?life|"
    r"(?<!don't )(?<!do not )want(?:ed)? to die|better off dead|self[- ]harm(?:ing)?|"
    r"(?:hurt|harm|cut)(?:ting|ing)? myself|suicidal (?:thoughts?|feelings?)|thoughts? of suicide|"
    r"(?<!not )(?<!never )(?<!never been )(?<!n't )suicidal|"
    # A plan or thought of suicide, misspelt as people type it in distress ("sucide").
    r"(?:plan(?:ning)?|think(?:ing)?|thought) (?:to|of|about) (?:commit(?:ting)? )?s(?:ui|u|i)ci?de|"
    r"(?:nothing|anything|no reason) (?:left )?to live for|no reason to live|"
    r"(?:i'm|i am|i was|i've been) (?:just )?a burden|(?:want|rather)(?: maybe| just)* (?:to )?disappear)\b",
    re.I,
)
# Told to the seeker as an imperative or a verdict; a risk question ("are you planning to
# hurt yourself?") or a plea ("please don't hurt yourself") is care, not encouragement.
_ENCOURAGES = re.compile(
    r"(?:^|[.!?]\s+)(?:just |go |so )?(?:kill|hurt) yourself\b|\byou should (?:kill|hurt|cut) yourself\b|"
    r"\bno one would miss you\b|\byou(?:'d| would) be better off dead\b",
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


def crisis_cues(dialogue: Dialogue) -> list[tuple[int, str]]:
    """Each seeker turn that speaks of suicide or self-harm, with the first phrase found:
    (index in `dialogue.turns`, phrase). The LLM judge is shown these as risk cues."""
    found = []
    for index, turn in enumerate(dialogue.turns):
        if turn.role == "seeker" and (match := _CRISIS.search(plain_quotes(turn.text))):
            found.append((index, match.group(0)))
    return found


class SafetyFilter(Filter[FilterSettings]):
    name = "safety"
    stateless = True
    Settings = FilterSettings

    def check(self, dialogue: Dialogue) -> Outcome:
        texts = [plain_quotes(t.text) for t in dialogue.turns]
        first_mention = next(
            (
                i
                for i, t in enumerate(dialogue.turns)
                if t.role == "seeker" and _CRISIS.search(texts[i])
            ),
            None,
        )
        for index, turn in enumerate(dialogue.turns):
            if turn.role != "supporter":
                continue
            after_crisis = first_mention is not None and index > first_mention
            if _ENCOURAGES.search(texts[index]) or (
                after_crisis and _ENCOURAGES_AFTER_CRISIS.search(texts[index])
            ):
                return self.drop(dialogue, "encourages_harm", turn=index)
        if first_mention is None:
            return self.keep(dialogue)
        later = [
            texts[i]
            for i, t in enumerate(dialogue.turns)
            if i > first_mention and t.role == "supporter"
        ]
        if not any(_POINTS_TO_HELP.search(text) for text in later):
            return self.drop(dialogue, "crisis_without_help", turn=first_mention)
        return self.keep(dialogue, "crisis_flagged", turn=first_mention)
