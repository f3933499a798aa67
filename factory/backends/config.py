"""Backend settings: which backend runs the roles and how it is reached. Each backend has its
own options model (in its module); `kind` picks one, and a section without `kind` is the
local backend. Secrets are never options: keys are read from the environment."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from factory.backends.base import BackendKind
from factory.backends.distilabel_backend import DistilabelOptions
from factory.backends.local import LocalOptions
from factory.backends.openai_backend import OpenAIOptions, StructuredMode, Transport
from factory.backends.scripted import ScriptedOptions
from factory.backends.vllm_backend import VLLMOptions
from factory.errors import ConfigError

__all__ = [
    "BackendConfig",
    "BackendKind",
    "DistilabelOptions",
    "LocalOptions",
    "OpenAIOptions",
    "ScriptedOptions",
    "StructuredMode",
    "Transport",
    "VLLMOptions",
    "dry_run_options",
    "flag_overrides",
]


def _local_when_kind_omitted(value: Any) -> Any:
    """`backend: {}` or a section without `kind` means the local backend, as it always has."""
    if isinstance(value, dict) and "kind" not in value:
        return {"kind": BackendKind.local, **value}
    return value


BackendConfig = Annotated[
    LocalOptions | OpenAIOptions | VLLMOptions | DistilabelOptions | ScriptedOptions,
    Field(discriminator="kind"),
    BeforeValidator(_local_when_kind_omitted),
]


def flag_overrides(
    kind: BackendKind | None, base_url: str | None, model: str | None
) -> dict[str, Any]:
    """The CLI's backend flags as dotted settings overrides (None: not given). Several
    comma-separated URLs become `base_urls`, replicas of one model balanced as one backend."""
    if base_url is not None and not base_url.replace(",", "").strip():
        raise ConfigError("--base-url is empty: pass one URL or several separated by commas")
    several = base_url is not None and "," in base_url
    return {
        "backend.kind": kind,
        "backend.base_url": None if several else base_url,
        "backend.base_urls": [u.strip() for u in (base_url or "").split(",") if u.strip()]
        if several
        else None,
        "backend.model": model,
    }


def dry_run_options(config: BackendConfig) -> ScriptedOptions:
    """The scripted backend standing in for `config` in a dry run; the model name stays, as
    it is part of the run's fingerprint."""
    return ScriptedOptions(model=config.model)
