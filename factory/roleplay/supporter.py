"""The supporter: sees the public dialogue, the chosen strategy, the phase and its own light
persona, never the seeker's hidden state, and writes one message that carries the strategy
out."""

from __future__ import annotations

from factory.backends.base import ChatRequest
from factory.roleplay.agent import Agent, check_not_echo, fit_to_budget
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
        messages = self.render(
            turns=view.turns,
            strategy=view.strategy,
            guidance=view.stage.guidance if view.stage else "",
            words=view.words,
            supporter=view.supporter,
        )
        return self.chat_request(
            messages, self.sampling.supporter_max_tokens, stop=self.stop_sequences()
        )

    def stop_sequences(self) -> tuple[str, ...]:
        """Where a small model starts writing the next transcript line (another speaker)."""
        return (*(f"\n{label}:" for label in self.labels.all()), "\nUser:", "\n\n\n")

    def parse(
        self, text: str, view: SupporterView, request: ChatRequest, final: bool = False
    ) -> str:
        cleaned = clean_utterance(text, self.max_chars)
        if not cleaned:
            raise ParseError("reply: empty after cleaning")
        fitted = fit_to_budget(cleaned, view.words, self.roleplay.overlong_factor, final)
        last_seeker = next((t.text for t in reversed(view.turns) if t.role == "seeker"), None)
        # The supporter may tell its own experiences in its own words; that is not an echo.
        own = tuple(view.supporter.experiences) if view.supporter else ()
        check_not_echo(fitted, request, self.labels, last_seeker, own)
        return fitted
