"""Keeps secrets out of what the factory writes (manifests, cards): a field named like a
secret is replaced before a record is saved."""

from __future__ import annotations

from typing import Any

SECRET_KEYS = {"api_key", "token", "hf_token", "authorization", "password", "secret"}


def scrub(value: Any) -> Any:
    """A copy with secret-looking fields replaced by "[redacted]"."""
    if isinstance(value, dict):
        return {
            k: "[redacted]"
            if k.lower() in SECRET_KEYS or (k.lower().endswith("_key") and v)
            else scrub(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value
