"""The shared act loop: build a request from a view, call the backend, parse, retry a
bounded number of times on unparsable output, and raise AgentFailure with the raw text."""

from __future__ import annotations

import re
from typing import Any, Generic, TypeVar

from factory.backends.base import Backend, ChatRequest
from factory.errors import BackendError
from factory.models import Usage
from factory.prompts import ChatMessage, PromptTemplate, SpeakerLabels
from factory.roleplay.config import RoleplayConfig, SamplingConfig
from factory.roleplay.parsing import ParseError
from factory.text import shares_span, trim_to_words, word_overlap

ViewT = TypeVar("ViewT")
ResultT = TypeVar("ResultT")


class AgentFailure(Exception):
    """An agent gave no usable output after its retries (or its backend failed)."""

    def __init__(
        self, agent: str, kind: str, message: str, raw_outputs: list[str] | None = None
    ) -> None:
        super().__init__(message)
        self.agent = agent
        self.kind = kind
        self.raw_outputs = raw_outputs or []


class Agent(Generic[ViewT, ResultT]):
    """One role. Subclasses say how a view becomes a request and how output is parsed."""

    name = "agent"

    def __init__(
        self,
        template: PromptTemplate,
        labels: SpeakerLabels,
        roleplay: RoleplayConfig,
        sampling: SamplingConfig,
        constants: dict[str, Any] | None = None,
    ) -> None:
        self.template = template
        self.labels = labels
        self.roleplay = roleplay
        self.sampling = sampling
        self.parse_retries = roleplay.parse_retries
        # Template values that are the same for every request (the platform's facts).
        self.constants = constants or {}

    def render(self, **context: Any) -> list[ChatMessage]:
        return self.template.render(labels=self.labels, **self.constants, **context)

    def request(self, view: ViewT) -> ChatRequest:
        raise NotImplementedError

    def chat_request(
        self,
        messages: list[ChatMessage],
        max_tokens: int,
        *,
        stop: tuple[str, ...] = (),
        json_schema: dict[str, Any] | None = None,
        schema_name: str = "output",
    ) -> ChatRequest:
        """A request with the run's sampling settings, marked as this agent's."""
        return ChatRequest(
            messages=messages,
            max_tokens=max_tokens,
            temperature=self.sampling.temperature,
            top_p=self.sampling.top_p,
            stop=stop,
            json_schema=json_schema,
            schema_name=schema_name,
            agent=self.name,
        )

    def parse(self, text: str, view: ViewT, request: ChatRequest, final: bool) -> ResultT:
        """The result, or ParseError (the call is retried). `final`: this is the last try, so
        a soft limit (a word budget) gives way rather than fail the dialogue."""
        raise NotImplementedError

    async def act(self, backend: Backend, view: ViewT, seed: int, usage: Usage) -> ResultT:
        request = self.request(view)
        raws: list[str] = []
        problem = ""
        for attempt in range(self.parse_retries + 1):
            try:
                completion = await backend.complete(request.with_seed(seed + attempt))
            except BackendError as exc:
                usage.add(exc.usage)
                kind = "rejected" if exc.rejected else "backend"
                raise AgentFailure(self.name, kind, str(exc)) from None
            usage.add(completion.usage)
            raws.append(completion.text)
            try:
                final = attempt == self.parse_retries
                return self.parse(completion.text, view, request, final)
            except ParseError as exc:
                problem = str(exc)
        raise AgentFailure(
            self.name,
            "parse",
            f"unusable output after {self.parse_retries + 1} tries: {problem}",
            raws,
        )


ECHO_OVERLAP = 0.7


def instruction_text(request: ChatRequest, labels: SpeakerLabels, own: tuple[str, ...] = ()) -> str:
    """The request's own words: every message minus the transcript lines quoted in it and
    minus `own`, the material the speaker may legitimately repeat (the seeker's situation)."""
    names = "|".join(re.escape(label) for label in labels.all())
    transcript_line = re.compile(rf"^(?:{names})(?: \([^)]*\))?: ")
    text = "\n".join(
        line
        for message in request.messages
        for line in message["content"].splitlines()
        if not transcript_line.match(line)
    )
    for material in own:
        text = text.replace(material, "\n")
    return text


def check_not_echo(
    text: str,
    request: ChatRequest,
    labels: SpeakerLabels,
    other_turn: str | None,
    own: tuple[str, ...] = (),
) -> None:
    """Rejects a turn that copies the instructions or the other speaker's last turn;
    small models do both, and such a turn is role leakage, not dialogue."""
    if shares_span(text, instruction_text(request, labels, own), span_words=6):
        raise ParseError("text echoes the prompt's instructions")
    if other_turn and word_overlap(text, other_turn) >= ECHO_OVERLAP:
        raise ParseError("text repeats the other speaker's last turn")


def fit_to_budget(text: str, words: tuple[int, int], factor: float, final: bool) -> str:
    """`text` within `factor` times the top of its word range: cut at a sentence end when it
    runs over, never mid-sentence. When no sentence end leaves enough, ParseError (the call
    is retried); on the last try the text is kept as written."""
    limit = max(words[1] + 2, round(words[1] * factor))
    trimmed = trim_to_words(text, limit)
    if trimmed is None:
        if final:
            return text
        raise ParseError(f"message: over {limit} words with no sentence end to cut at")
    return trimmed
