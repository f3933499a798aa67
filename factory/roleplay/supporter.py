"""The supporter: sees the public dialogue and the chosen strategy, never the seeker's
hidden state, and writes one reply that carries the strategy out."""

from __future__ import annotations

from factory.backends.base import ChatRequest
from factory.roleplay.agent import Agent, check_not_echo
from factory.roleplay.parsing import ParseError
from factory.roleplay.views import SupporterView
from factory.text import clean_utterance


class SupporterAgent(Agent[SupporterView, str]):
    name = "supporter"

    @property
    def max_words(self) -> int:
        return self.roleplay.supporter_max_words

    @property
    def max_chars(self) -> int:
        return self.max_words * 8

    def request(self, view: SupporterView) -> ChatRequest:
        messages = self.template.render(
            labels=self.labels, turns=view.turns, strategy=view.strategy, max_words=self.max_words
        )
        return self.chat_request(
            messages, self.sampling.supporter_max_tokens, stop=self.stop_sequences()
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
