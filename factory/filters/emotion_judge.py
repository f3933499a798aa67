"""The emotion judge: a model reads everything the seeker wrote, with the scenario's situation
and stated emotion, names the emotions the seeker shows and scores 1-5 how well the stated
one fits (prompts/emotion_judge.jinja). A dialogue scored under `min_fit` is dropped as
`emotion_unfit`; a tie is kept.

It is the model-based counterpart of emotion_consistency, which weighs embeddings and
feeling words and is calibrated on ESConv. Only the seeker's turns are shown: the label is
what the seeker feels, and a supporter's guess at it ("you sound lonely") is not evidence.
A dialogue whose emotion is not in the persona data's list, or with no seeker text, is kept
(`unknown_emotion`, `no_seeker_text`) with no call. Off unless a recipe enables it with a
capable `backend:` (or `--judge` switches it on with the runs' own); like the quality
judge, an answer that cannot be had keeps the dialogue with the reason."""

from __future__ import annotations

from collections import Counter
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from factory.backends import Backend, ChatRequest
from factory.filters.base import Outcome
from factory.filters.llm_check import LLMCheck, LLMCheckSettings
from factory.filters.report import EmotionJudgeSummary
from factory.models import Dialogue, Record
from factory.roleplay.parsing import ParseError, coerce_int, extract_json_object, match_choice


class EmotionJudgeSettings(LLMCheckSettings):
    min_fit: int = Field(
        default=3, ge=1, le=5, description="kept when the stated emotion's fit is >= this"
    )
    max_seeker_words: int = Field(
        default=600, ge=50, description="the seeker's words shown; later turns are left out"
    )
    max_tokens: int = Field(default=300, ge=64, le=8192, description="completion tokens")
    personas: str | None = Field(
        default=None, description="persona data folder whose emotions.yaml lists the emotions"
    )


def _fit(value: Any) -> int:
    return coerce_int(value, 1, 5, "fit")


class EmotionFitAnswer(BaseModel):
    """The judge's answer; extra keys from a chatty model are ignored."""

    model_config = ConfigDict(extra="ignore")

    emotions_shown: list[str] = Field(min_length=1)
    fit: Annotated[int, BeforeValidator(_fit)]
    reason: Annotated[str, BeforeValidator(lambda v: str(v or "").strip()[:300])] = ""


class EmotionFit(Record):
    """What the verdict stores: the stated emotion, the emotions the judge read (as the
    list names them where it could tell), its fit score and its reason (`why`)."""

    emotion: str
    emotions_shown: list[str]
    fit: int
    why: str


@cache
def _emotions(personas: str | None) -> tuple[tuple[str, str, str], ...]:
    """(name, family, description) of every emotion in the persona data's emotions.yaml."""
    from factory.scenarios.persona_bank import load_emotions

    listed = load_emotions(Path(personas) if personas else None)
    return tuple((e.name, e.family, e.description) for e in listed)


class EmotionJudgeFilter(LLMCheck[EmotionJudgeSettings, EmotionFit]):
    name = "emotion_judge"
    Settings = EmotionJudgeSettings
    prompt = "emotion_judge"

    def __init__(
        self, settings: EmotionJudgeSettings | None = None, backend: Backend | None = None
    ) -> None:
        super().__init__(settings, backend)
        listed = _emotions(self.settings.personas)
        self.emotions = {name: description for name, _, description in listed}
        self._by_lower = {name.lower(): name for name in self.emotions}
        self.groups: dict[str, list[dict[str, str]]] = {}
        for name, family, description in listed:
            self.groups.setdefault(family, []).append({"name": name, "description": description})
        self.fits: Counter[int] = Counter()

    def summary(self) -> EmotionJudgeSummary:
        return EmotionJudgeSummary(
            **self.summary_fields(),
            judged=sum(self.fits.values()),
            fits={str(k): self.fits[k] for k in sorted(self.fits)},
            min_fit=self.settings.min_fit,
        )

    def seeker_lines(self, dialogue: Dialogue) -> tuple[list[tuple[int, str]], bool]:
        """The seeker's turns as (1-based turn number, text), up to `max_seeker_words`
        words (the first turn always whole); and whether turns were left out."""
        lines: list[tuple[int, str]] = []
        words = 0
        for number, turn in enumerate(dialogue.turns, start=1):
            if turn.role != "seeker":
                continue
            size = len(turn.text.split())
            if lines and words + size > self.settings.max_seeker_words:
                return lines, True
            lines.append((number, turn.text))
            words += size
        return lines, False

    def stated(self, dialogue: Dialogue) -> str | None:
        """The scenario's emotion as the list names it (case and spaces aside), or None."""
        return self._by_lower.get(dialogue.scenario.emotion_type.strip().lower())

    def skip(self, dialogue: Dialogue) -> Outcome | None:
        # An emotion outside the list has no description and no family to weigh it against,
        # and the answer's list could not name it: as in emotion_consistency, it is kept.
        if self.stated(dialogue) is None:
            return self._unscored(
                dialogue, "unknown_emotion", emotion=dialogue.scenario.emotion_type
            )
        if not any(t.role == "seeker" and t.text.strip() for t in dialogue.turns):
            return self._unscored(dialogue, "no_seeker_text")
        return None

    def request(self, dialogue: Dialogue) -> ChatRequest:
        emotion = self.stated(dialogue) or dialogue.scenario.emotion_type
        lines, cut = self.seeker_lines(dialogue)
        messages = self.template.render(
            labels=self.labels,
            groups=list(self.groups.items()),
            emotion=emotion,
            emotion_description=self.emotions.get(emotion, ""),
            situation=dialogue.scenario.situation,
            lines=lines,
            cut=cut,
        )
        names = list(self.emotions)
        schema = {
            "type": "object",
            "properties": {
                "emotions_shown": {
                    "type": "array",
                    "items": {"type": "string", "enum": names} if names else {"type": "string"},
                    "minItems": 1,
                    "maxItems": 3,
                },
                "fit": {"type": "integer", "enum": [1, 2, 3, 4, 5]},
                "reason": {"type": "string", "maxLength": 300},
            },
            "required": ["emotions_shown", "fit", "reason"],
            "additionalProperties": False,
        }
        return ChatRequest(
            messages=messages,
            max_tokens=self.settings.max_tokens,
            temperature=self.settings.temperature,
            json_schema=schema,
            schema_name="emotion_fit",
            agent="emotion_judge",
        )

    def read(self, dialogue: Dialogue, text: str) -> EmotionFit:
        answer = EmotionFitAnswer.model_validate(extract_json_object(text))
        names = list(self.emotions)
        shown = []
        for value in answer.emotions_shown[:3]:
            try:
                shown.append(match_choice(value, names, "emotion"))
            except ParseError:
                shown.append(str(value).strip()[:40])
        return EmotionFit(
            emotion=self.stated(dialogue) or dialogue.scenario.emotion_type,
            emotions_shown=shown,
            fit=answer.fit,
            why=answer.reason,
        )

    def decide(self, dialogue: Dialogue, answer: EmotionFit) -> Outcome:
        self.fits[answer.fit] += 1
        details = answer.model_dump(mode="json")
        if answer.fit < self.settings.min_fit:
            return self.drop(dialogue, "emotion_unfit", score=answer.fit, **details)
        return self.keep(dialogue, score=answer.fit, **details)
