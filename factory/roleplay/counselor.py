"""The strategy counselor: reads the public dialogue and picks the supporter's next strategy
with a short rationale. A strategy used `max_same_strategy_run` times in a row is removed
from the allowed set (prompt and schema), so the rule holds even for a weak model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from factory.backends.base import ChatRequest
from factory.roleplay.agent import Agent
from factory.roleplay.parsing import ParseError, extract_json_object, match_choice
from factory.roleplay.views import CounselorView
from factory.text import clean_utterance

RATIONALE_MAX_CHARS = 120


@dataclass(frozen=True)
class StrategyChoice:
    strategy: str
    rationale: str


class CounselorAgent(Agent[CounselorView, StrategyChoice]):
    name = "counselor"

    @staticmethod
    def schema(allowed: list[str]) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {
                "strategy": {"type": "string", "enum": allowed},
                "rationale": {"type": "string", "minLength": 1, "maxLength": RATIONALE_MAX_CHARS},
            },
            "required": ["strategy", "rationale"],
            "additionalProperties": False,
        }

    def request(self, view: CounselorView) -> ChatRequest:
        messages = self.template.render(
            labels=self.labels,
            strategies=view.taxonomy.strategies,
            turns=view.turns,
            banned=view.banned,
        )
        return self.chat_request(
            messages,
            self.sampling.counselor_max_tokens,
            json_schema=self.schema(view.allowed),
            schema_name="strategy_choice",
        )

    def parse(self, text: str, view: CounselorView, request: ChatRequest) -> StrategyChoice:
        data = extract_json_object(text)
        strategy = match_choice(data.get("strategy"), view.taxonomy.names, "strategy")
        if strategy in view.banned:
            raise ParseError(f"strategy: {strategy} was used too many times in a row")
        rationale = data.get("rationale")
        rationale = (
            clean_utterance(rationale, RATIONALE_MAX_CHARS) if isinstance(rationale, str) else ""
        )
        return StrategyChoice(strategy, rationale)
