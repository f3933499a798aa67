"""Backends: the registry maps a config's `kind` to a class. Heavy imports stay inside each."""

from __future__ import annotations

from factory.backends.base import Backend, ChatRequest, Completion
from factory.backends.config import BackendConfig, BackendKind

__all__ = ["Backend", "ChatRequest", "Completion", "build_backend"]


def build_backend(config: BackendConfig, max_in_flight: int) -> Backend:
    """A backend for `config`, not yet started (no model loaded, no connection made)."""
    if config.kind is BackendKind.openai and len(config.base_urls) > 1:
        from factory.backends.multi import MultiEndpointBackend

        return MultiEndpointBackend(config, max_in_flight)
    if config.kind is BackendKind.openai:
        if config.base_urls:
            config = config.model_copy(update={"base_url": config.base_urls[0]})
        from factory.backends.openai_backend import OpenAIBackend

        return OpenAIBackend(config, max_in_flight)
    if config.kind is BackendKind.distilabel:
        from factory.backends.distilabel_backend import DistilabelBackend

        return DistilabelBackend(config)
    if config.kind is BackendKind.vllm:
        from factory.backends.vllm_backend import VLLMBackend

        return VLLMBackend(config)
    if config.kind is BackendKind.local:
        from factory.backends.local import LocalBackend

        return LocalBackend(config)
    from factory.backends.scripted import ScriptedBackend

    return ScriptedBackend()
