"""Tolerant parsing of structured model output: JSON objects buried in noisy text."""

from __future__ import annotations

import json
import re
from typing import Any


class ParseError(ValueError):
    """The output could not be read as the expected structure."""


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")


def extract_json_object(text: str) -> dict[str, Any]:
    """The first JSON object in `text`, after stripping code fences and trailing commas.

    Raises ParseError when there is none; never returns a partial object.
    """
    if not text or not text.strip():
        raise ParseError("empty output")
    fenced = _FENCE.search(text)
    candidates = [fenced.group(1)] if fenced else []
    candidates.append(text)
    for candidate in candidates:
        for blob in _balanced_objects(candidate):
            for attempt in (blob, _TRAILING_COMMA.sub(r"\1", blob)):
                try:
                    value = json.loads(attempt)
                except json.JSONDecodeError:
                    continue
                if isinstance(value, dict):
                    return value
    raise ParseError(f"no JSON object in output: {text[:80]!r}")


def _balanced_objects(text: str) -> list[str]:
    """Substrings that start at a '{' and end at its matching '}' (string-aware)."""
    found: list[str] = []
    start = text.find("{")
    while start != -1 and len(found) < 5:
        depth, in_string, escaped = 0, False, False
        for i in range(start, len(text)):
            ch = text[i]
            if in_string:
                if escaped:
                    escaped = False
                elif ch == "\\":
                    escaped = True
                elif ch == '"':
                    in_string = False
            elif ch == '"':
                in_string = True
            elif ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    found.append(text[start : i + 1])
                    break
        start = text.find("{", start + 1)
    return found


def coerce_int(value: Any, low: int, high: int, field: str) -> int:
    """An integer in [low, high] from an int, a float or a numeric string like '4' or '4/5'."""
    if isinstance(value, bool):
        raise ParseError(f"{field}: expected a number, got {value!r}")
    if isinstance(value, int | float):
        number = round(value)
    elif isinstance(value, str) and (m := re.search(r"-?\d+", value)):
        number = int(m.group())
    else:
        raise ParseError(f"{field}: expected a number, got {value!r}")
    if not low <= number <= high:
        raise ParseError(f"{field}: {number} is outside {low}-{high}")
    return number


def coerce_bool(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "yes", "1"}:
        return True
    if isinstance(value, str) and value.strip().lower() in {"false", "no", "0", ""}:
        return False
    if value is None:
        return False
    raise ParseError(f"{field}: expected true or false, got {value!r}")


def match_choice(value: Any, choices: list[str], field: str) -> str:
    """The choice `value` names: exact, case-insensitive, without [brackets], or a unique prefix."""
    if not isinstance(value, str) or not value.strip():
        raise ParseError(f"{field}: expected one of the listed names, got {value!r}")
    wanted = value.strip().strip("[]\"' .").lower()
    by_lower = {c.lower(): c for c in choices}
    if wanted in by_lower:
        return by_lower[wanted]
    prefixed = [c for c in choices if c.lower().startswith(wanted) or wanted.startswith(c.lower())]
    if len(prefixed) == 1:
        return prefixed[0]
    raise ParseError(f"{field}: {value!r} is not one of {', '.join(choices)}")
