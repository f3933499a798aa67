"""Backend settings: which backend runs the roles and how it is reached. Secrets are never
part of them: the API key is read from the environment variable that `api_key_env` names."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field

from factory.settings import Strict


class BackendKind(StrEnum):
    local = "local"
    openai = "openai"
    vllm = "vllm"
    distilabel = "distilabel"
    scripted = "scripted"


class Transport(StrEnum):
    """How the openai backend talks HTTP: `http` is a lean aiohttp client of the
    OpenAI wire format; `sdk` goes through the openai SDK (aiohttp transport)."""

    http = "http"
    sdk = "sdk"


class StructuredMode(StrEnum):
    """How a structured call asks an OpenAI-compatible server for JSON.

    json_schema: OpenAI / vLLM `response_format: json_schema`.
    json_object: `{"type": "json_object", "schema": ...}`, what llama.cpp's server accepts.
    prompt: no server-side constraint; the prompt and the tolerant parser do the work.
    """

    json_schema = "json_schema"
    json_object = "json_object"
    prompt = "prompt"


class BackendConfig(Strict):
    kind: BackendKind = BackendKind.local
    model: str | None = Field(
        default=None,
        description="openai: the served model name; local: a GGUF path (default: the embedded SmolLM2)",
    )
    base_url: str = "http://127.0.0.1:8000/v1"
    base_urls: list[str] = Field(
        default_factory=list,
        description="several replicas of one model (e.g. vllm serve on each GPU box); overrides base_url",
    )
    endpoint_cooldown_s: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="a failing endpoint rests this long, then is probed",
    )
    api_key_env: str = "OPENAI_API_KEY"
    transport: Transport = Transport.http
    structured: StructuredMode = StructuredMode.json_schema
    timeout_s: float = Field(default=60.0, gt=0, le=3600)
    max_retries: int = Field(default=4, ge=0, le=20)
    backoff_s: float = Field(default=0.5, gt=0, le=60)
    max_backoff_s: float = Field(default=30.0, gt=0, le=600)
    max_retry_after_s: float = Field(
        default=120.0, ge=0, le=3600, description="longer Retry-After waits fail the call instead"
    )
    n_ctx: int = Field(default=2048, ge=256, le=131072)
    n_threads: int | None = Field(default=None, ge=1, le=256)
    repeat_penalty: float = Field(
        default=1.15, ge=1, le=2, description="local only: llama.cpp repeat penalty"
    )
    batch_window_s: float = Field(
        default=0.005, gt=0, le=1, description="vllm only: how long a batch waits for more calls"
    )
    llm_class: str | None = Field(
        default=None, description="distilabel only: import path of an LLM class"
    )
    llm_args: dict[str, Any] = Field(
        default_factory=dict,
        description="distilabel only: the class's arguments (keep API keys in the environment)",
    )
    engine_args: dict[str, Any] = Field(
        default_factory=dict,
        description="vllm only: extra vllm.LLM arguments (tensor_parallel_size, gpu_memory_utilization, ...)",
    )
