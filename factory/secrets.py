"""Keeps secrets out of what the factory writes (manifests, cards): a field whose name says
it holds a secret is replaced, and passwords or keys inside URLs are cut out, before a record
is saved."""

from __future__ import annotations

import re
from typing import Any

REDACTED = "[redacted]"
# Normalised names (lowercase, no '-' or '_') that mark a secret wherever they appear in a
# key: api_key, apiKey, X-Api-Key, access_token, auth_token, client_secret, password, ...
_SECRET_PARTS = ("apikey", "secret", "password", "passwd", "authorization", "credential")
_URL_USERINFO = re.compile(r"(?<=://)([^/@:\s]+):([^/@\s]+)@")
_URL_QUERY_SECRET = re.compile(
    r"([?&](?:api[-_]?key|key|token|access[-_]?token|sig|signature|password)=)[^&#\s]+",
    re.IGNORECASE,
)


def secret_key(key: str) -> bool:
    """Does this field name say its value is a secret? (`max_tokens` and `api_key_env`,
    which names a variable, do not.)"""
    name = key.lower().replace("-", "").replace("_", "")
    if name.endswith("env"):
        return False
    if any(part in name for part in _SECRET_PARTS):
        return True
    if name.endswith("key") and name not in ("key",):
        return True
    return name.endswith("token") or "bearer" in name


def scrub_text(text: str) -> str:
    text = _URL_USERINFO.sub(lambda m: f"{m.group(1)}:{REDACTED}@", text)
    return _URL_QUERY_SECRET.sub(lambda m: m.group(1) + REDACTED, text)


def scrub(value: Any) -> Any:
    """A copy with secret-looking fields replaced and URL credentials cut out."""
    if isinstance(value, dict):
        return {
            k: REDACTED if isinstance(k, str) and secret_key(k) and value_is_secret(v) else scrub(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [scrub(v) for v in value]
    if isinstance(value, str):
        return scrub_text(value)
    return value


def value_is_secret(value: Any) -> bool:
    """Numbers and flags under a secret-looking name (a token count) are not secrets."""
    return value is not None and not isinstance(value, bool | int | float)
