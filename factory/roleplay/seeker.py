"""The help-seeker: speaks as the persona, reveals the hidden situation gradually, sends one
to three messages a turn, rates its own intensity after each turn and may close the
conversation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from factory.backends.base import ChatRequest
from factory.roleplay.agent import Agent, check_not_echo, fit_to_budget
from factory.roleplay.parsing import ParseError, coerce_bool, coerce_int, extract_json_object
from factory.roleplay.views import SeekerView
from factory.text import clean_utterance

MAX_MESSAGES = 3


@dataclass(frozen=True)
class SeekerMove:
    messages: tuple[str, ...]
    intensity: int
    wants_close: bool

    @property
    def text(self) -> str:
        return " ".join(self.messages)


class SeekerAgent(Agent[SeekerView, SeekerMove]):
    name = "seeker"

    @property
    def max_words(self) -> int:
        return self.roleplay.seeker_max_words

    @property
    def max_chars(self) -> int:
        return self.max_words * 8

    def schema(self, view: SeekerView) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {
                "messages": {
                    "type": "array",
                    "items": {"type": "string", "minLength": 1, "maxLength": self.max_chars},
                    "minItems": 1,
                    "maxItems": max(1, view.messages),
                },
                "intensity": {"type": "integer", "enum": [1, 2, 3, 4, 5]},
                "end_conversation": {"type": "boolean"},
            },
            "required": ["messages", "intensity", "end_conversation"],
            "additionalProperties": False,
        }

    def request(self, view: SeekerView) -> ChatRequest:
        messages = self.render(
            persona=view.persona,
            scenario=view.scenario,
            intensity=view.intensity,
            turns=view.turns,
            may_close=view.may_close,
            guidance=view.stage.guidance if view.stage else "",
            words=view.words,
            messages=view.messages,
            register=view.register,
        )
        return self.chat_request(
            messages,
            self.sampling.seeker_max_tokens,
            json_schema=self.schema(view),
            schema_name="seeker_turn",
        )

    def parse(
        self, text: str, view: SeekerView, request: ChatRequest, final: bool = False
    ) -> SeekerMove:
        data = extract_json_object(text)
        raw = data.get("messages", data.get("message"))
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list) or not all(isinstance(m, str) for m in raw):
            raise ParseError("messages: missing or not a list of text")
        cleaned = [c for m in raw[:MAX_MESSAGES] if (c := clean_utterance(m, self.max_chars))]
        if not cleaned:
            raise ParseError("messages: empty after cleaning")
        factor = self.roleplay.overlong_factor
        fitted = tuple(fit_to_budget(m, view.words, factor, final) for m in cleaned)
        last_supporter = next((t.text for t in reversed(view.turns) if t.role == "supporter"), None)
        # The seeker may retell its own situation in its own words; that is not an echo.
        own = (view.scenario.situation, view.persona.style)
        check_not_echo(" ".join(fitted), request, self.labels, last_supporter, own)
        rated = coerce_int(data.get("intensity"), 1, 5, "intensity")
        # Feelings move gradually: one step per turn at most (the prompt says so too).
        intensity = min(max(rated, view.intensity - 1), view.intensity + 1)
        wants_close = coerce_bool(data.get("end_conversation", False), "end_conversation")
        return SeekerMove(fitted, intensity, wants_close)
