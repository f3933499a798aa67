"""Keeps secrets out of what the factory writes (manifests, cards, failure records, error
lines): a field whose name says it holds a secret is replaced, and so is any value that looks
like a credential whatever its field (URL userinfo of any shape, `Bearer ...`, `sk-...`,
`hf_...`, long random tokens), before a record is saved or a line printed."""

from __future__ import annotations

import re
from typing import Any

REDACTED = "[redacted]"
# Normalised names (lowercase, no '-' or '_') that mark a secret wherever they appear in a
# key: api_key, apiKey, X-Api-Key, access_token, auth_token, client_secret, password, ...
_SECRET_PARTS = ("apikey", "secret", "password", "passwd", "authorization", "credential")
# Anything between "scheme://" and "@" is a login: "user:password@", or a bare token
# ("http://sk-TOKEN@host/v1").
_URL_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")
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
    if name.endswith("key"):
        return True
    return name.endswith("token") or "bearer" in name


# Values that are credentials by their look: an Authorization header's value, the key formats
# of OpenAI-style providers and the Hugging Face Hub, and long random tokens. A long token
# needs upper and lower case letters and digits, so hex hashes and ids are left alone.
_BEARER = re.compile(r"\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE)
_KEY_FORMATS = re.compile(r"\b(?:sk|pk|rk)-[A-Za-z0-9_-]{8,}|\bhf_[A-Za-z0-9]{8,}")
_LONG_TOKEN = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{32,}(?![A-Za-z0-9_-])")


def _random_looking(token: str) -> bool:
    return (
        any(c.isupper() for c in token)
        and any(c.islower() for c in token)
        and any(c.isdigit() for c in token)
    )


def scrub_text(text: str) -> str:
    """The text with every credential-looking part replaced by [redacted]."""
    text = _URL_USERINFO.sub(f"{REDACTED}@", text)
    text = _URL_QUERY_SECRET.sub(lambda m: m.group(1) + REDACTED, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _KEY_FORMATS.sub(REDACTED, text)
    return _LONG_TOKEN.sub(lambda m: REDACTED if _random_looking(m.group()) else m.group(), text)


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
