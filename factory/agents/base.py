"""The shared act loop: build a request from a view, call the backend, parse, retry a
bounded number of times on unparsable output, and raise AgentFailure with the raw text."""

from __future__ import annotations

from typing import Generic, TypeVar

from factory.backends.base import Backend, ChatRequest
from factory.errors import BackendError
from factory.models import Usage
from factory.parsing import ParseError
from factory.prompts import PromptTemplate

ViewT = TypeVar("ViewT")
ResultT = TypeVar("ResultT")


class AgentFailure(Exception):
    """An agent gave no usable output after its retries (or its backend failed)."""

    def __init__(self, agent: str, kind: str, message: str, raw_output: str | None = None) -> None:
        super().__init__(message)
        self.agent = agent
        self.kind = kind
        self.raw_output = raw_output


class Agent(Generic[ViewT, ResultT]):
    """One role. Subclasses say how a view becomes a request and how output is parsed."""

    name = "agent"

    def __init__(self, template: PromptTemplate, parse_retries: int) -> None:
        self.template = template
        self.parse_retries = parse_retries

    def request(self, view: ViewT) -> ChatRequest:
        raise NotImplementedError

    def parse(self, text: str, view: ViewT) -> ResultT:
        raise NotImplementedError

    async def act(self, backend: Backend, view: ViewT, seed: int, usage: Usage) -> ResultT:
        request = self.request(view)
        raw: str | None = None
        problem = ""
        for attempt in range(self.parse_retries + 1):
            try:
                completion = await backend.complete(request.with_seed(seed + attempt))
            except BackendError as exc:
                usage.add(exc.usage)
                raise AgentFailure(self.name, "backend", str(exc)) from None
            usage.add(completion.usage)
            raw = completion.text
            try:
                return self.parse(raw, view)
            except ParseError as exc:
                problem = str(exc)
        raise AgentFailure(
            self.name, "parse", f"unusable output after {self.parse_retries + 1} tries: {problem}", raw
        )
