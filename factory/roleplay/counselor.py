"""The strategy counselor: reads the public dialogue and where it stands (phase, exchange,
exchanges left), writes a short rationale, then picks the supporter's next strategy from the
allowed set. The set is the taxonomy narrowed by the phase's rules, the run's mix control and
the no-long-runs rule (a strategy used `max_same_strategy_run` times in a row); it is in the
prompt and the schema, so it holds even for a weak model."""

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
            # The rationale comes first, so the reason is thought before the choice is made.
            "properties": {
                "rationale": {"type": "string", "minLength": 1, "maxLength": RATIONALE_MAX_CHARS},
                "strategy": {"type": "string", "enum": allowed},
            },
            "required": ["rationale", "strategy"],
            "additionalProperties": False,
        }

    def request(self, view: CounselorView) -> ChatRequest:
        allowed = view.allowed
        messages = self.render(
            strategies=[s for s in view.taxonomy.strategies if s.name in allowed],
            turns=view.turns,
            banned=view.banned,
            stage=view.stage,
            supporter=view.supporter,
        )
        return self.chat_request(
            messages,
            self.sampling.counselor_max_tokens,
            json_schema=self.schema(view.allowed),
            schema_name="strategy_choice",
        )

    def parse(
        self, text: str, view: CounselorView, request: ChatRequest, final: bool = False
    ) -> StrategyChoice:
        data = extract_json_object(text)
        strategy = match_choice(data.get("strategy"), view.taxonomy.names, "strategy")
        if strategy in view.banned:
            raise ParseError(f"strategy: {strategy} was used too many times in a row")
        if strategy not in view.allowed:
            raise ParseError(f"strategy: {strategy} is not among those allowed now")
        rationale = data.get("rationale")
        rationale = (
            clean_utterance(rationale, RATIONALE_MAX_CHARS) if isinstance(rationale, str) else ""
        )
        return StrategyChoice(strategy, rationale)
