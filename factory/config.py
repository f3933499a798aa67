"""Generation config: pydantic with bounds, loaded from YAML once at the CLI edge.

A bad key or value becomes one ConfigError line naming the key and what is allowed.
Secrets are never part of the config: the API key is read from the environment variable
that `backend.api_key_env` names.
"""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from factory.errors import ConfigError, first_error_line
from factory.resources import read_text

M = TypeVar("M", bound=BaseModel)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", use_enum_values=False)


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


class SamplingConfig(Strict):
    temperature: float = Field(default=0.7, ge=0, le=2)
    top_p: float = Field(default=0.95, gt=0, le=1)
    seeker_max_tokens: int = Field(default=128, ge=16, le=4096)
    counselor_max_tokens: int = Field(default=128, ge=96, le=4096)
    supporter_max_tokens: int = Field(default=96, ge=16, le=4096)


class RoleplayConfig(Strict):
    taxonomy: str = Field(
        default="esconv", description="esconv, extes, or a path to a taxonomy YAML"
    )
    min_exchanges: int = Field(default=3, ge=1, le=100)
    max_exchanges: int = Field(default=8, ge=1, le=100)
    max_same_strategy_run: int = Field(default=2, ge=1, le=10)
    seeker_max_words: int = Field(default=40, ge=5, le=400)
    supporter_max_words: int = Field(default=45, ge=5, le=400)
    stall_similarity: float = Field(default=0.85, gt=0, le=1)
    parse_retries: int = Field(default=2, ge=0, le=10)
    prompts_dir: str | None = None

    @model_validator(mode="after")
    def _min_below_max(self) -> RoleplayConfig:
        if self.min_exchanges > self.max_exchanges:
            raise ValueError(
                f"min_exchanges ({self.min_exchanges}) must not exceed max_exchanges ({self.max_exchanges})"
            )
        return self


class Price(Strict):
    """What a model costs, in money per million tokens."""

    prompt: float = Field(ge=0)
    completion: float = Field(ge=0)


class BudgetConfig(Strict):
    """Limits on what one run (all its sessions together) may spend. When a limit is reached
    the run takes no new dialogues, lets those in flight finish, and stops; a rerun with a
    higher limit goes on."""

    max_tokens: int | None = Field(default=None, ge=1, description="prompt + completion tokens")
    max_cost: float | None = Field(default=None, gt=0, description="in the prices' currency")
    prices: dict[str, Price] = Field(
        default_factory=dict, description="model name -> price per million tokens"
    )

    def cost(self, model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
        price = self.prices.get(model)
        if price is None:
            return None
        return (prompt_tokens * price.prompt + completion_tokens * price.completion) / 1e6


class GenerationConfig(Strict):
    n: int = Field(default=5, ge=1, le=10_000_000)
    seed: int = Field(default=7, ge=0, le=2**31 - 1)
    concurrency: int = Field(default=8, ge=1, le=4096)
    scenarios: str | None = Field(
        default=None, description="a scenario bank (.jsonl); default: built-in sampler"
    )
    backend: BackendConfig = Field(default_factory=BackendConfig)
    sampling: SamplingConfig = Field(default_factory=SamplingConfig)
    roleplay: RoleplayConfig = Field(default_factory=RoleplayConfig)
    budget: BudgetConfig = Field(default_factory=BudgetConfig)

    def fingerprint(self, content_hashes: dict[str, str]) -> str:
        """Hash of what decides a dialogue's content. `n`, concurrency, timeouts and the
        server address are left out, so a run can be extended or moved to another replica."""
        content = {
            "seed": self.seed,
            "scenarios": self.scenarios,
            "backend": {"kind": self.backend.kind, "model": self.backend.model},
            "structured": self.backend.structured,
            "sampling": self.sampling.model_dump(mode="json"),
            "roleplay": self.roleplay.model_dump(mode="json"),
            "texts": content_hashes,
        }
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]


def load_config(path: Path | None, overrides: dict[str, Any] | None = None) -> GenerationConfig:
    """The generation config from a YAML file (or defaults) with CLI overrides applied."""
    return load_settings(GenerationConfig, path, overrides)


def load_settings(model: type[M], path: Path | None, overrides: dict[str, Any] | None = None) -> M:
    """Any settings model from a YAML file (or defaults) with CLI overrides (dotted keys)."""
    data: dict[str, Any] = {}
    label = "config"
    if path is not None:
        label = str(path)
        if not path.exists() or path.is_dir():  # pipes like <(...) are fine
            raise ConfigError(
                f"config file {path} not found: pass an existing YAML file to --config"
            )
        try:
            loaded = yaml.safe_load(read_text(path, ConfigError))
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML ({first_error_line(exc)})") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{path}: the top level must be a mapping of keys to values")
        data = loaded or {}
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        node = data
        *parents, leaf = dotted.split(".")
        for key in parents:
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                raise ConfigError(f"{label}: '{key}' must be a mapping")
            node = child
        node[leaf] = value
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{label}: {_describe(exc, model)}") from None


def _describe(exc: ValidationError, model: type[BaseModel]) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    if err["type"] == "extra_forbidden":
        parent = _model_at(model, err["loc"][:-1])
        allowed = ", ".join(parent.model_fields) if parent else "see README"
        return f"unknown key '{loc}' (allowed here: {allowed})"
    if err["type"] == "enum":
        return f"{loc}: {err['msg']}"
    return first_error_line(exc)


def _model_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    for key in loc:
        field = model.model_fields.get(str(key))
        annotation = field.annotation if field else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model
