"""The shared act loop: build a request from a view, call the backend, parse, retry a
bounded number of times on unparsable output, and raise AgentFailure with the raw text."""

from __future__ import annotations

import re
from typing import Generic, TypeVar

from factory.backends.base import Backend, ChatRequest
from factory.cleaning import shares_span, word_overlap
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

    def parse(self, text: str, view: ViewT, request: ChatRequest) -> ResultT:
        """The result, or ParseError (the call is retried)."""
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
                return self.parse(raw, view, request)
            except ParseError as exc:
                problem = str(exc)
        raise AgentFailure(
            self.name,
            "parse",
            f"unusable output after {self.parse_retries + 1} tries: {problem}",
            raw,
        )


ECHO_OVERLAP = 0.7
_TRANSCRIPT_LINE = re.compile(r"^(?:You|Supporter|Seeker)(?: \([^)]*\))?: ")


def instruction_text(request: ChatRequest) -> str:
    """The request's own words: every message, minus the transcript lines quoted in it."""
    lines = [
        line
        for message in request.messages
        for line in message["content"].splitlines()
        if not _TRANSCRIPT_LINE.match(line)
    ]
    return "\n".join(lines)


def check_not_echo(text: str, request: ChatRequest, other_turn: str | None) -> None:
    """Rejects a turn that copies the instructions or the other speaker's last turn;
    small models do both, and such a turn is role leakage, not dialogue."""
    if shares_span(text, instruction_text(request), span_words=6):
        raise ParseError("text echoes the prompt's instructions")
    if other_turn and word_overlap(text, other_turn) >= ECHO_OVERLAP:
        raise ParseError("text repeats the other speaker's last turn")
