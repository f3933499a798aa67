"""Any OpenAI-compatible chat server: OpenAI, `vllm serve`, llama.cpp's server, providers.

Retries 429/5xx/timeouts/malformed bodies with exponential backoff and full jitter, honouring
Retry-After; every attempt counts in the usage, failed ones as failed_calls. Two transports
share that logic: a lean aiohttp client of the wire format (default, about 0.1 ms of CPU a
call) and the openai SDK on its aiohttp transport.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import math
import os
import random
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from factory.backends.adaptive import ConcurrencyLimit, Outcome
from factory.backends.base import BackendKind, ChatRequest, Completion
from factory.errors import (
    BackendError,
    BackendNotStarted,
    BackendUnavailable,
    ConfigError,
    first_error_line,
)
from factory.models import Usage
from factory.secrets import scrub_text
from factory.settings import Strict

if TYPE_CHECKING:  # aiohttp is imported where it is used: config loading imports this module
    import aiohttp

RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


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


class OpenAIOptions(Strict):
    """`backend.kind: openai`: one OpenAI-compatible server, or several replicas of one model.
    Secrets are not options: the API key is read from the variable `api_key_env` names."""

    kind: Literal[BackendKind.openai] = BackendKind.openai
    model: str | None = Field(default=None, description="the served model name")
    base_url: str = Field(
        default="http://127.0.0.1:8000/v1",
        description="the server's OpenAI-compatible URL, with /v1",
    )
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
    api_key_env: str = Field(
        default="OPENAI_API_KEY",
        description="the variable holding the key; unset or empty: no Authorization header",
    )
    transport: Transport = Field(
        default=Transport.http, description="http: lean aiohttp client; sdk: the openai SDK"
    )
    structured: StructuredMode = Field(
        default=StructuredMode.json_schema,
        description="json_schema (OpenAI, vLLM), json_object (llama.cpp's server) or prompt only",
    )
    timeout_s: float = Field(default=60.0, gt=0, le=3600, description="per request")
    max_retries: int = Field(
        default=4, ge=0, le=20, description="on 408/409/425/429/5xx, timeouts, malformed bodies"
    )
    backoff_s: float = Field(
        default=0.5, gt=0, le=60, description="first backoff; exponential, full jitter"
    )
    max_backoff_s: float = Field(
        default=30.0, gt=0, le=600, description="longest backoff (a Retry-After is honoured)"
    )
    max_retry_after_s: float = Field(
        default=120.0, ge=0, le=3600, description="longer Retry-After waits fail the call instead"
    )

    @field_validator("model")
    @classmethod
    def _not_a_key(cls, model: str | None) -> str | None:
        # A key passed as the model would be written into every dialogue, card and manifest.
        if model is not None and scrub_text(model) != model:
            raise ValueError(
                "looks like an API key, not a model name: pass the served model's name, and"
                " the key through the variable api_key_env names (OPENAI_API_KEY by default)"
            )
        return model


@dataclass
class _Reply:
    """One HTTP attempt's outcome; `status` 0 means no response (connection error, timeout)."""

    status: int
    body: str
    retry_after: float | None = None
    error: str = ""
    timed_out: bool = False


def served_models(body: str) -> list[str]:
    """The model ids of a GET /models answer; empty when it is not the usual shape (some
    servers answer otherwise, and then nothing is checked)."""
    try:
        data = json.loads(body).get("data")
    except (ValueError, AttributeError):
        return []
    if not isinstance(data, list):
        return []
    return [str(m["id"]) for m in data if isinstance(m, dict) and "id" in m]


class OpenAIBackend:
    name = "openai"
    max_parallel: int | None = None

    def __init__(self, config: OpenAIOptions, max_in_flight: int) -> None:
        self.config = config
        self.model = config.model or ""
        self.base_url = config.base_url.rstrip("/")
        self._api_key = os.environ.get(config.api_key_env, "")
        self.limit = ConcurrencyLimit.fixed(max_in_flight)
        self._max_in_flight = max_in_flight
        self._session: aiohttp.ClientSession | None = None
        self._sdk: Any = None
        self._rng = random.Random()
        self._started = False

    def adapt(self, ceiling: int) -> None:
        """`--concurrency auto`: the limit of calls in flight finds the server's capacity,
        up to `ceiling` (see factory.backends.adaptive)."""
        self.limit = ConcurrencyLimit.auto(ceiling)
        self._max_in_flight = max(self._max_in_flight, ceiling)

    def limits(self) -> dict[str, ConcurrencyLimit]:
        return {self.base_url: self.limit}

    # -- lifecycle -------------------------------------------------------------------
    async def start(self) -> None:
        import aiohttp

        if self._api_key and urlsplit(self.base_url).username:
            # aiohttp cannot send both, and a traceback would be all the user saw.
            raise ConfigError(
                f"backend.base_url carries a login and {self.config.api_key_env} is set:"
                f" use one of the two (remove the login from the URL or unset"
                f" {self.config.api_key_env})"
            )
        timeout = aiohttp.ClientTimeout(total=self.config.timeout_s)
        connector = aiohttp.TCPConnector(limit=self._max_in_flight, ttl_dns_cache=300)
        headers = {"Content-Type": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        self._session = aiohttp.ClientSession(timeout=timeout, connector=connector, headers=headers)
        await self._check_reachable(self._session)
        if self.config.transport is Transport.sdk:
            import openai

            self._sdk = openai.AsyncOpenAI(
                base_url=self.base_url,
                api_key=self._api_key or "not-needed",
                max_retries=0,
                timeout=self.config.timeout_s,
                http_client=openai.DefaultAioHttpClient(),
            )
        self._started = True

    async def _check_reachable(self, session: aiohttp.ClientSession) -> None:
        import aiohttp

        url = f"{self.base_url}/models"
        body = ""
        try:
            async with session.get(url, timeout=aiohttp.ClientTimeout(total=10)) as resp:
                status = resp.status
                if status == 200:
                    body = await resp.text()
        except aiohttp.InvalidURL:
            await self.close()
            raise BackendUnavailable(
                f"{self.base_url} is not a valid URL: pass a base URL like http://HOST:PORT/v1",
                config_error=True,
            ) from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            await self.close()
            raise BackendUnavailable(
                f"cannot reach an OpenAI-compatible server at {self.base_url}"
                f" ({first_error_line(exc)}):"
                " start it (e.g. `vllm serve MODEL`) or pass --base-url"
            ) from None
        if status in (401, 403):
            await self.close()
            raise BackendUnavailable(
                f"the server at {self.base_url} refused the API key (HTTP {status}):"
                f" set {self.config.api_key_env} to a valid key",
                config_error=True,
            )
        if status == 404:
            await self.close()
            hint = (
                f" (did you mean {self.base_url}/v1?)" if not self.base_url.endswith("/v1") else ""
            )
            raise BackendUnavailable(
                f"{url} answered 404: {self.base_url} is not the base of an OpenAI-compatible"
                f" API{hint}; pass the right --base-url",
                config_error=True,
            )

        served = served_models(body)
        if served and self.model not in served:
            await self.close()
            raise BackendUnavailable(
                f"model '{self.model}' is not served at {self.base_url}: it serves"
                f" {', '.join(served[:10])}{' ...' if len(served) > 10 else ''};"
                " pass one of them to --model",
                config_error=True,
            )

    async def healthy(self) -> str | None:
        """None if GET /models answers 200 now, else why not. Uses its own connection, so
        calls in flight on this backend are not disturbed."""
        import aiohttp

        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session,
                session.get(f"{self.base_url}/models", headers=headers) as resp,
            ):
                return None if resp.status == 200 else f"HTTP {resp.status}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            return first_error_line(exc)

    async def close(self) -> None:
        if self._sdk is not None:
            await self._sdk.close()
            self._sdk = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- calls -----------------------------------------------------------------------
    def payload(self, request: ChatRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": request.messages,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "top_p": request.top_p,
        }
        if request.stop:
            body["stop"] = list(request.stop)
        if request.seed is not None:
            body["seed"] = request.seed
        schema = request.json_schema
        if schema is not None and self.config.structured is StructuredMode.json_schema:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": request.schema_name,
                    "schema": _strict_subset(schema),
                    "strict": True,
                },
            }
        elif schema is not None and self.config.structured is StructuredMode.json_object:
            body["response_format"] = {"type": "json_object", "schema": schema}
        return body

    async def complete(self, request: ChatRequest) -> Completion:
        if not self._started:
            raise BackendNotStarted(self.name)
        body = self.payload(request)
        usage = Usage()
        attempts = self.config.max_retries + 1
        last_error = ""
        async with self.limit.slot():
            for attempt in range(attempts):
                usage.calls += 1
                sent = time.monotonic()
                reply = await (self._post_sdk(body) if self._sdk else self._post_http(body))
                self.limit.observe(_outcome(reply), time.monotonic() - sent)
                if reply.status == 200:
                    parsed = _read_completion(reply.body)
                    if isinstance(parsed, Completion):
                        usage.prompt_tokens += parsed.usage.prompt_tokens
                        usage.completion_tokens += parsed.usage.completion_tokens
                        parsed.usage = usage
                        return parsed
                    last_error = parsed
                elif reply.status and reply.status not in RETRYABLE_STATUS:
                    usage.failed_calls += 1
                    raise BackendError(
                        f"HTTP {reply.status} from {self.base_url}: {_error_text(reply.body)}",
                        usage,
                        rejected=True,
                    )
                elif (
                    reply.retry_after is not None
                    and reply.retry_after > self.config.max_retry_after_s
                ):
                    usage.failed_calls += 1
                    raise BackendError(
                        f"HTTP {reply.status}: the server asks to wait {reply.retry_after:.0f}s"
                        f" (Retry-After), more than backend.max_retry_after_s"
                        f" ({self.config.max_retry_after_s:g}s)",
                        usage,
                    )
                else:
                    last_error = reply.error or f"HTTP {reply.status}: {_error_text(reply.body)}"
                usage.failed_calls += 1
                if attempt + 1 < attempts:
                    await asyncio.sleep(self._delay(attempt, reply.retry_after))
        raise BackendError(f"gave up after {attempts} attempts: {last_error}", usage)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            # The server knows its own limits: wait what it asks (not our backoff ceiling),
            # plus a little jitter so that the requests it throttled do not return at once.
            return retry_after + self._rng.uniform(0, min(1.0, 0.1 * retry_after))
        ceiling = min(self.config.backoff_s * (2**attempt), self.config.max_backoff_s)
        return self._rng.uniform(0, ceiling)

    async def _post_http(self, body: dict[str, Any]) -> _Reply:
        import aiohttp

        if self._session is None:  # closed under a call (several endpoints): a retryable miss
            return _Reply(0, "", error="the connection to this endpoint was closed")
        try:
            async with self._session.post(
                f"{self.base_url}/chat/completions", data=json.dumps(body)
            ) as resp:
                raw = await resp.read()
                text = raw.decode("utf-8", errors="replace")
                return _Reply(resp.status, text, _retry_after(resp.headers))
        except TimeoutError:
            return _Reply(
                0, "", error=f"timed out after {self.config.timeout_s:g}s", timed_out=True
            )
        except aiohttp.ClientError as exc:
            return _Reply(0, "", error=f"{type(exc).__name__}: {exc}")

    async def _post_sdk(self, body: dict[str, Any]) -> _Reply:
        import openai

        # Messages and options go through extra_body: the SDK's typed-parameter conversion
        # of `messages` costs milliseconds of CPU per call and adds nothing for us.
        extra = {k: v for k, v in body.items() if k != "model"}
        try:
            raw = await self._sdk.chat.completions.with_raw_response.create(
                model=body["model"], messages=[], extra_body=extra
            )
            return _Reply(raw.status_code, raw.text)
        except openai.APIStatusError as exc:
            return _Reply(exc.status_code, exc.response.text, _retry_after(exc.response.headers))
        except openai.APITimeoutError:
            return _Reply(
                0, "", error=f"timed out after {self.config.timeout_s:g}s", timed_out=True
            )
        except openai.APIConnectionError as exc:
            return _Reply(0, "", error=f"connection error: {exc}")


def _outcome(reply: _Reply) -> Outcome:
    """What an attempt says about the server's load: a 429, a 5xx or a timeout is overload;
    a refused connection or a 4xx says nothing about it."""
    if reply.status == 200:
        return "ok"
    if reply.status == 429 or reply.status >= 500 or (reply.status == 0 and reply.timed_out):
        return "overload"
    return "error"


def _strict_subset(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema without string-length keywords, which OpenAI's strict mode refuses;
    turn length is bounded by max_tokens and the cleaning cap instead."""
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("minLength", "maxLength"):
            continue
        if isinstance(value, dict):
            value = _strict_subset(value)
        out[key] = value
    return out


def _read_completion(text: str) -> Completion | str:
    """The completion in a 200 body, or a description of why the body is unusable."""
    try:
        data = json.loads(text)
        content = data["choices"][0]["message"]["content"]
    except (json.JSONDecodeError, KeyError, IndexError, TypeError):
        return f"malformed response body: {text[:120]!r}"
    if not isinstance(content, str):
        return "response has no text content"
    raw_usage = data.get("usage")
    raw_usage = raw_usage if isinstance(raw_usage, dict) else {}
    usage = Usage(
        prompt_tokens=_token_count(raw_usage.get("prompt_tokens")),
        completion_tokens=_token_count(raw_usage.get("completion_tokens")),
    )
    return Completion(text=content, usage=usage)


def _token_count(value: Any) -> int:
    """A token count from a usage field; anything that is not a non-negative number is 0."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return 0
    return max(0, int(value))


def _retry_after(headers: Any) -> float | None:
    """Seconds to wait from Retry-After (seconds or an HTTP date) or retry-after-ms."""
    millis = headers.get("retry-after-ms")
    if millis:
        with contextlib.suppress(ValueError):
            seconds = float(millis) / 1000
            if math.isfinite(seconds) and seconds >= 0:
                return seconds
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        seconds = float(value)
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - time.time())


def _error_text(body: str) -> str:
    try:
        data = json.loads(body)
        message = data.get("error", {}).get("message") if isinstance(data, dict) else None
        if isinstance(message, str):
            return message[:200]
    except (json.JSONDecodeError, AttributeError):
        pass
    return body[:200] or "(empty body)"
