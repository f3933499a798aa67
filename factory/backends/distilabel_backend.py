"""Any distilabel LLM class as a backend: `backend.kind: distilabel`,
`backend.llm_class: distilabel.models.OpenAILLM` (an import path) and `backend.llm_args`
(its constructor arguments; keep API keys in the environment, where distilabel's classes read
them). Calls go through the class's `agenerate` (async LLMs) or `generate` (in a thread),
with only the sampling arguments its signature accepts. distilabel's LLMs take structured
output at construction, not per call, so structured calls rely on the prompt and the
tolerant parser. Usage comes from distilabel's `statistics` where the class reports it.

distilabel 1.5.3 needs `requests` and `pillow` beside it (the `distilabel` extra installs
them), and after a pipeline run it fetches citations from the network unless beautifulsoup4
is absent; the backend alone runs no pipeline."""

from __future__ import annotations

import asyncio
import importlib
import inspect
from typing import Any, Literal

from pydantic import Field

from factory.backends.base import BackendKind, ChatRequest, Completion
from factory.errors import (
    BackendError,
    BackendNotStarted,
    BackendUnavailable,
    ConfigError,
    MissingExtra,
    first_error_line,
)
from factory.models import Usage
from factory.settings import Strict


class DistilabelOptions(Strict):
    """`backend.kind: distilabel`: any distilabel LLM class, named by import path."""

    kind: Literal[BackendKind.distilabel] = BackendKind.distilabel
    model: str | None = Field(
        default=None,
        description="for prices and the run's fingerprint; the class takes its model from llm_args",
    )
    llm_class: str | None = Field(default=None, description="import path of an LLM class")
    llm_args: dict[str, Any] = Field(
        default_factory=dict,
        description="the class's arguments (keep API keys in the environment)",
    )


def load_class(path: str) -> type:
    module_name, _, name = path.rpartition(".")
    if not module_name:
        raise ConfigError(f"backend.llm_class '{path}' is not an import path like pkg.module.Class")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] == "distilabel":
            raise MissingExtra("distilabel", "distilabel") from None
        raise ConfigError(f"backend.llm_class: cannot import {module_name} ({exc})") from None
    found = getattr(module, name, None)
    if not isinstance(found, type):
        raise ConfigError(f"backend.llm_class: {module_name} has no class {name}")
    return found


class DistilabelBackend:
    name = "distilabel"
    max_parallel: int | None = None

    def __init__(self, config: DistilabelOptions) -> None:
        if not config.llm_class:
            raise ConfigError(
                "backend.kind distilabel needs backend.llm_class, e.g. distilabel.models.OpenAILLM"
            )
        self.config = config
        self.model = str(config.llm_args.get("model") or config.llm_class.rpartition(".")[2])
        self._llm: Any = None
        self._accepts: set[str] = set()
        self._one_at_a_time = asyncio.Lock()

    async def start(self) -> None:
        cls = load_class(self.config.llm_class or "")
        try:
            self._llm = cls(**self.config.llm_args)
            await asyncio.to_thread(self._llm.load)
        except Exception as exc:  # a third-party class: any error means it cannot serve
            first = first_error_line(exc)[:200]
            raise BackendUnavailable(
                f"distilabel {cls.__name__} did not load ({first}): check backend.llm_args"
            ) from None
        method = getattr(self._llm, "agenerate", None) or self._llm.generate
        self._accepts = set(inspect.signature(method).parameters)
        if not hasattr(self._llm, "agenerate"):
            # Synchronous classes (transformers, llama.cpp, vLLM) are not thread-safe: one
            # call at a time.
            self.max_parallel = 1

    async def close(self) -> None:
        if self._llm is not None and hasattr(self._llm, "unload"):
            await asyncio.to_thread(self._llm.unload)
        self._llm = None

    def _kwargs(self, request: ChatRequest) -> dict[str, Any]:
        wanted = {
            "max_new_tokens": request.max_tokens,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "top_p": request.top_p,
            "stop": list(request.stop) or None,
        }
        return {k: v for k, v in wanted.items() if k in self._accepts and v is not None}

    async def complete(self, request: ChatRequest) -> Completion:
        if self._llm is None:
            raise BackendNotStarted(self.name)
        messages = [dict(m) for m in request.messages]
        try:
            if hasattr(self._llm, "agenerate"):
                output = await self._llm.agenerate(
                    input=messages, num_generations=1, **self._kwargs(request)
                )
            else:
                async with self._one_at_a_time:
                    outputs = await asyncio.to_thread(
                        self._llm.generate,
                        inputs=[messages],
                        num_generations=1,
                        **self._kwargs(request),
                    )
                output = outputs[0]
        except Exception as exc:
            first = first_error_line(exc)[:200]
            raise BackendError(
                f"distilabel call failed: {first}", Usage(calls=1, failed_calls=1)
            ) from None
        generations = output.get("generations") or [None]
        statistics = output.get("statistics") or {}

        def first_count(key: str) -> int:
            values = statistics.get(key) or [0]
            return int(values[0] or 0)

        usage = Usage(
            calls=1,
            prompt_tokens=first_count("input_tokens"),
            completion_tokens=first_count("output_tokens"),
        )
        if not isinstance(generations[0], str):
            usage.failed_calls = 1
            raise BackendError("distilabel returned no text for this call", usage)
        return Completion(text=generations[0], usage=usage)
