"""The supporter: sees the public dialogue and the chosen strategy, never the seeker's
hidden state, and writes one reply that carries the strategy out."""

from __future__ import annotations

from factory.agents.base import Agent, check_not_echo
from factory.agents.views import SupporterView
from factory.backends.base import ChatRequest
from factory.cleaning import clean_utterance
from factory.config import RoleplayConfig, SamplingConfig
from factory.parsing import ParseError
from factory.prompts import PromptTemplate, SpeakerLabels


class SupporterAgent(Agent[SupporterView, str]):
    name = "supporter"

    def __init__(
        self,
        template: PromptTemplate,
        labels: SpeakerLabels,
        roleplay: RoleplayConfig,
        sampling: SamplingConfig,
    ) -> None:
        super().__init__(template, labels, roleplay.parse_retries)
        self.max_words = roleplay.supporter_max_words
        self.max_chars = roleplay.supporter_max_words * 8
        self.sampling = sampling

    def request(self, view: SupporterView) -> ChatRequest:
        messages = self.template.render(
            labels=self.labels, turns=view.turns, strategy=view.strategy, max_words=self.max_words
        )
        return ChatRequest(
            messages=messages,
            max_tokens=self.sampling.supporter_max_tokens,
            temperature=self.sampling.temperature,
            top_p=self.sampling.top_p,
            stop=self.stop_sequences(),
            agent=self.name,
        )

    def stop_sequences(self) -> tuple[str, ...]:
        """Where a small model starts writing the next transcript line (another speaker)."""
        return (*(f"\n{label}:" for label in self.labels.all()), "\nUser:", "\n\n\n")

    def parse(self, text: str, view: SupporterView, request: ChatRequest) -> str:
        cleaned = clean_utterance(text, self.max_chars)
        if not cleaned:
            raise ParseError("reply: empty after cleaning")
        last_seeker = next((t.text for t in reversed(view.turns) if t.role == "seeker"), None)
        check_not_echo(cleaned, request, self.labels, last_seeker)
        return cleaned
