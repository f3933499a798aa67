"""The help-seeker: speaks as the persona, reveals the hidden situation gradually, rates
its own intensity after each message and may close the conversation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from factory.backends.base import ChatRequest
from factory.roleplay.agent import Agent, check_not_echo
from factory.roleplay.parsing import ParseError, coerce_bool, coerce_int, extract_json_object
from factory.roleplay.views import SeekerView
from factory.text import clean_utterance


@dataclass(frozen=True)
class SeekerMove:
    text: str
    intensity: int
    wants_close: bool


class SeekerAgent(Agent[SeekerView, SeekerMove]):
    name = "seeker"

    @property
    def max_words(self) -> int:
        return self.roleplay.seeker_max_words

    @property
    def max_chars(self) -> int:
        return self.max_words * 8

    def schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {
                "message": {"type": "string", "minLength": 1, "maxLength": self.max_chars},
                "intensity": {"type": "integer", "enum": [1, 2, 3, 4, 5]},
                "end_conversation": {"type": "boolean"},
            },
            "required": ["message", "intensity", "end_conversation"],
            "additionalProperties": False,
        }

    def request(self, view: SeekerView) -> ChatRequest:
        messages = self.template.render(
            labels=self.labels,
            persona=view.persona,
            scenario=view.scenario,
            intensity=view.intensity,
            turns=view.turns,
            may_close=view.may_close,
            max_words=self.max_words,
        )
        return self.chat_request(
            messages,
            self.sampling.seeker_max_tokens,
            json_schema=self.schema(),
            schema_name="seeker_turn",
        )

    def parse(self, text: str, view: SeekerView, request: ChatRequest) -> SeekerMove:
        data = extract_json_object(text)
        message = data.get("message")
        if not isinstance(message, str):
            raise ParseError("message: missing or not text")
        cleaned = clean_utterance(message, self.max_chars)
        if not cleaned:
            raise ParseError("message: empty after cleaning")
        last_supporter = next((t.text for t in reversed(view.turns) if t.role == "supporter"), None)
        # The seeker may retell its own situation in its own words; that is not an echo.
        own = (view.scenario.situation, view.persona.style)
        check_not_echo(cleaned, request, self.labels, last_supporter, own)
        intensity = coerce_int(data.get("intensity"), 1, 5, "intensity")
        wants_close = coerce_bool(data.get("end_conversation", False), "end_conversation")
        return SeekerMove(cleaned, intensity, wants_close)
