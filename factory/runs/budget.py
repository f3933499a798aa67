"""A run's spending limits (tokens, money) against what it has used, earlier sessions
included: when a limit is reached no new dialogue starts."""

from __future__ import annotations

from dataclasses import dataclass

from factory.errors import ConfigError
from factory.models import Usage
from factory.runs.config import BudgetConfig


@dataclass
class Budget:
    """The run's spending limits against what it has used, earlier sessions included."""

    config: BudgetConfig
    model: str
    spent_before: Usage

    def __post_init__(self) -> None:
        if self.config.max_cost is not None and self.model not in self.config.prices:
            raise ConfigError(
                f"budget.max_cost needs the price of model '{self.model}': add"
                f" budget.prices['{self.model}'] with prompt and completion per million tokens"
            )

    def exceeded(self, session: Usage) -> str | None:
        """Which limit is reached, in words, or None."""
        prompt = self.spent_before.prompt_tokens + session.prompt_tokens
        completion = self.spent_before.completion_tokens + session.completion_tokens
        limit = self.config.max_tokens
        if limit is not None and prompt + completion >= limit:
            return f"token budget ({prompt + completion:,} of {limit:,} tokens used)"
        cost = self.config.cost(self.model, prompt, completion)
        if self.config.max_cost is not None and cost is not None and cost >= self.config.max_cost:
            return f"cost budget ({cost:.4f} of {self.config.max_cost:g} spent)"
        return None

    def affordable(self, session: Usage, done: int) -> float | None:
        """How many more dialogues the budget allows at the mean spend of the `done` ones
        this session: infinite without a limit, None before anything is known."""
        if self.config.max_tokens is None and self.config.max_cost is None:
            return float("inf")
        if done == 0:
            return None
        prompt = self.spent_before.prompt_tokens + session.prompt_tokens
        completion = self.spent_before.completion_tokens + session.completion_tokens
        room = float("inf")
        if self.config.max_tokens is not None:
            per = (session.prompt_tokens + session.completion_tokens) / done
            room = min(room, (self.config.max_tokens - prompt - completion) / max(per, 1e-9))
        if self.config.max_cost is not None:
            spent = self.config.cost(self.model, prompt, completion) or 0.0
            mean = self.config.cost(self.model, session.prompt_tokens, session.completion_tokens)
            room = min(room, (self.config.max_cost - spent) / max((mean or 0.0) / done, 1e-12))
        return max(room, 0.0)
