"""Backends: the registry maps a config's `kind` to a builder. Heavy imports stay inside each
backend's methods, so importing them (config loading does) costs little."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from factory.backends.base import Backend, BackendKind, ChatRequest, Completion
from factory.backends.config import BackendConfig, OpenAIOptions
from factory.backends.distilabel_backend import DistilabelBackend
from factory.backends.local import LocalBackend
from factory.backends.openai_backend import OpenAIBackend
from factory.backends.scripted import ScriptedBackend
from factory.backends.vllm_backend import VLLMBackend
from factory.errors import ConfigError

__all__ = ["BUILDERS", "Backend", "ChatRequest", "Completion", "build_backend"]

# A builder takes the options model of its kind and the most calls the run keeps in flight.
Builder = Callable[[Any, int], Backend]


def _openai(config: OpenAIOptions, max_in_flight: int) -> Backend:
    """One server, or several replicas of one model (`base_urls`) balanced as one backend."""
    if not config.model:
        # A default name would fail every request against a server that serves another one.
        where = (config.base_urls or [config.base_url])[0].rstrip("/")
        raise ConfigError(
            "backend.model is not set: pass --model with the name the server serves"
            f" (GET {where}/models lists them)"
        )
    if len(config.base_urls) > 1:
        from factory.backends.multi import MultiEndpointBackend

        return MultiEndpointBackend(config, max_in_flight)
    if config.base_urls:
        config = config.model_copy(update={"base_url": config.base_urls[0]})
    return OpenAIBackend(config, max_in_flight)


BUILDERS: dict[BackendKind, Builder] = {
    BackendKind.local: lambda config, _: LocalBackend(config),
    BackendKind.openai: _openai,
    BackendKind.vllm: lambda config, _: VLLMBackend(config),
    BackendKind.distilabel: lambda config, _: DistilabelBackend(config),
    BackendKind.scripted: lambda config, _: ScriptedBackend(),
}


def build_backend(config: BackendConfig, max_in_flight: int) -> Backend:
    """A backend for `config`, not yet started (no model loaded, no connection made)."""
    builder = BUILDERS.get(config.kind)
    if builder is None:
        kinds = ", ".join(BUILDERS)
        raise ConfigError(f"backend.kind '{config.kind}' has no backend: use one of {kinds}")
    return builder(config, max_in_flight)
