"""The one small async interface every backend implements."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Protocol

from factory.models import Usage
from factory.prompts import ChatMessage


class BackendKind(StrEnum):
    """The backends a config can name in `backend.kind`; each has its own options model."""

    local = "local"
    openai = "openai"
    vllm = "vllm"
    distilabel = "distilabel"
    scripted = "scripted"


@dataclass(frozen=True)
class ChatRequest:
    """One chat completion. With `json_schema` set, the backend constrains the output to it
    where it can (grammar, response_format); the caller still parses tolerantly."""

    messages: list[ChatMessage]
    max_tokens: int
    temperature: float
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    json_schema: dict[str, Any] | None = None
    schema_name: str = "output"
    seed: int | None = None
    agent: str = ""

    def with_seed(self, seed: int) -> ChatRequest:
        return replace(self, seed=seed)


@dataclass
class Completion:
    text: str
    usage: Usage = field(default_factory=Usage)


class Backend(Protocol):
    """A chat model. `start` checks it can serve (server reachable, model loaded) and raises
    BackendUnavailable if not; `complete` raises BackendError after its own retries."""

    name: str
    model: str
    # Calls it can serve at once (None: no limit of its own). The runner keeps no more
    # dialogues in flight than this, so a crash loses as little as possible.
    max_parallel: int | None

    async def start(self) -> None: ...

    async def complete(self, request: ChatRequest) -> Completion: ...

    async def close(self) -> None: ...
