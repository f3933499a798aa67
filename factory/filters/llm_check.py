"""What the filters that ask a model share (the quality judge, the emotion judge): the
backend and its limits as settings, the calls made concurrently within a batch, a budget
of their own, retries for answers that cannot be read, and the rule that a dialogue whose
answer cannot be had is kept, with the reason (and the raw outputs) in its verdict."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import Field, ValidationError

from factory.backends import Backend, ChatRequest, build_backend
from factory.backends.config import BackendConfig, LocalOptions
from factory.errors import BackendError
from factory.filters.base import Filter, FilterSettings, Outcome
from factory.models import Dialogue, Usage
from factory.prompts import PromptLibrary
from factory.roleplay.parsing import ParseError
from factory.runs.budget import Budget
from factory.runs.config import BudgetConfig


class LLMCheckSettings(FilterSettings):
    backend: BackendConfig = Field(default_factory=LocalOptions, description="the judge's model")
    concurrency: int = Field(default=8, ge=1, le=1024, description="judgements in flight")
    temperature: float = Field(default=0.0, ge=0, le=2, description="of the judge's calls")
    max_tokens: int = Field(default=900, ge=64, le=8192, description="completion tokens")
    parse_retries: int = Field(
        default=1, ge=0, le=5, description="extra calls when a judgement cannot be parsed"
    )
    budget: BudgetConfig = Field(
        default_factory=BudgetConfig, description="limits and prices for the judge's own calls"
    )


S = TypeVar("S", bound=LLMCheckSettings)
A = TypeVar("A")


class LLMCheck(Filter[S], Generic[S, A]):
    """Subclasses name their template (`prompt`), build the request (`request`), read the
    answer into their verdict type `A` (`read`, raising ParseError or ValidationError when
    it is not the asked-for JSON), and decide keep or drop from it (`decide`)."""

    prompt: ClassVar[str]

    def __init__(self, settings: S | None = None, backend: Backend | None = None) -> None:
        super().__init__(settings)
        library = PromptLibrary()
        self.template = library.get(self.prompt)
        self.labels = library.labels()
        self._backend = backend
        self.usage = Usage()
        self.model = self.settings.backend.model or (backend.model if backend else "")
        self.backend_name = backend.name if backend else str(self.settings.backend.kind)
        self._budget: Budget | None = None
        self.unscored: Counter[str] = Counter()

    def skip(self, dialogue: Dialogue) -> Outcome | None:
        """The outcome for a dialogue there is nothing to ask about (no call is made), or None."""
        return None

    def request(self, dialogue: Dialogue) -> ChatRequest:
        raise NotImplementedError

    def read(self, dialogue: Dialogue, text: str) -> A:
        raise NotImplementedError

    def decide(self, dialogue: Dialogue, answer: A) -> Outcome:
        raise NotImplementedError

    def summary_fields(self) -> dict[str, Any]:
        """The fields every LLMCheckSummary holds, as they stand now."""
        u = self.usage
        return {
            "usage": u.model_copy(),
            "prompt_hash": self.template.sha256,
            "backend": self.backend_name,
            "model": self.model,
            "cost": self.settings.budget.cost(self.model, u.prompt_tokens, u.completion_tokens),
            "unscored": dict(self.unscored.most_common()),
        }

    def check_batch(self, dialogues: list[Dialogue]) -> list[Outcome]:
        return asyncio.run(self._ask_all(dialogues))

    async def _ask_all(self, dialogues: list[Dialogue]) -> list[Outcome]:
        backend = self._backend or build_backend(self.settings.backend, self.settings.concurrency)
        self.model = self.settings.backend.model or backend.model
        self.backend_name = backend.name
        if self._budget is None:
            self._budget = Budget(self.settings.budget, self.model, Usage())
        limit = asyncio.Semaphore(self.settings.concurrency)
        await backend.start()
        try:

            async def one(dialogue: Dialogue) -> Outcome:
                async with limit:
                    return await self._ask(backend, dialogue)

            return list(await asyncio.gather(*(one(d) for d in dialogues)))
        finally:
            await backend.close()

    async def _ask(self, backend: Backend, dialogue: Dialogue) -> Outcome:
        if (skipped := self.skip(dialogue)) is not None:
            return skipped
        request = self.request(dialogue)
        raws: list[str] = []
        for attempt in range(self.settings.parse_retries + 1):
            if self._budget and (why := self._budget.exceeded(self.usage)):
                return self._unscored(dialogue, "judge_budget_reached", budget=why)
            try:
                completion = await backend.complete(request.with_seed(attempt))
            except BackendError as exc:
                self.usage.add(exc.usage)
                return self._unscored(dialogue, "judge_failed", error=str(exc)[:200])
            self.usage.add(completion.usage)
            raws.append(completion.text)
            try:
                answer = self.read(dialogue, completion.text)
            except (ParseError, ValidationError):
                continue
            return self.decide(dialogue, answer)
        return self._unscored(dialogue, "judge_unparsed", raw_outputs=raws)

    def _unscored(self, dialogue: Dialogue, reason: str, **details: Any) -> Outcome:
        self.unscored[reason] += 1
        return self.keep(dialogue, reason, None, **details)
