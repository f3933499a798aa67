"""Several OpenAI-compatible endpoints serving one model (e.g. a `vllm serve` replica per GPU
box), used as one backend. Each call goes to the healthy endpoint with the fewest calls in
flight, so a slow or busy replica gets less work and the throughput approaches the sum of the
replicas'. An endpoint whose call fails on the server side (after its own retries) is taken
out for `endpoint_cooldown_s`, the call moves to another endpoint, and the resting endpoint is
probed (GET /models) before it gets work again. A request the server refuses (HTTP 4xx other
than 408/409/425/429) is not moved: it would be refused everywhere."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from dataclasses import dataclass

from factory.backends.adaptive import ConcurrencyLimit
from factory.backends.base import ChatRequest, Completion
from factory.backends.openai_backend import OpenAIBackend, OpenAIOptions
from factory.errors import BackendError, BackendUnavailable, first_error_line
from factory.models import Usage

log = logging.getLogger(__name__)


@dataclass
class Endpoint:
    url: str
    backend: OpenAIBackend
    in_flight: int = 0
    down_until: float = 0.0  # monotonic time; 0: up
    calls: int = 0
    failures: int = 0
    last_error: str = ""
    probe: asyncio.Task[None] | None = None


class MultiEndpointBackend:
    name = "openai"
    max_parallel: int | None = None

    def __init__(
        self, config: OpenAIOptions, max_in_flight: int, balance: str = "least_in_flight"
    ) -> None:
        self.config = config
        self.balance = balance  # "round_robin" only for the benchmark's comparison
        self.endpoints = [
            Endpoint(url, OpenAIBackend(config.model_copy(update={"base_url": url}), max_in_flight))
            for url in dict.fromkeys(u.rstrip("/") for u in config.base_urls)
        ]
        self.model = self.endpoints[0].backend.model
        self._turn = itertools.count()

    async def start(self) -> None:
        results = await asyncio.gather(
            *(e.backend.start() for e in self.endpoints), return_exceptions=True
        )
        for endpoint, result in zip(self.endpoints, results, strict=True):
            if isinstance(result, BaseException):
                if not isinstance(result, BackendUnavailable) or result.config_error:
                    await self.close()
                    raise result  # a wrong URL or key is a mistake to fix, not an outage
                self._take_out(endpoint, result)
        if all(e.down_until for e in self.endpoints):
            reasons = "; ".join(f"{e.url}: {e.last_error}" for e in self.endpoints)
            raise BackendUnavailable(
                f"none of the {len(self.endpoints)} endpoints is healthy ({reasons}):"
                " start the servers or fix backend.base_urls"
            )
        for e in self.endpoints:
            if e.down_until:
                log.warning(
                    "endpoint %s is down (%s); probed again in %gs",
                    e.url,
                    e.last_error,
                    self.config.endpoint_cooldown_s,
                )

    def adapt(self, ceiling: int) -> None:
        """`--concurrency auto`: each endpoint finds its own limit, up to `ceiling`."""
        for endpoint in self.endpoints:
            endpoint.backend.adapt(ceiling)

    def limits(self) -> dict[str, ConcurrencyLimit]:
        """Each endpoint's limit; one taken out of service counts as none."""
        return {e.url: e.backend.limit for e in self.endpoints}

    def stats(self) -> dict[str, dict[str, int | str]]:
        return {
            e.url: {"calls": e.calls, "failures": e.failures, "up": int(not e.down_until)}
            for e in self.endpoints
        }

    def _take_out(self, endpoint: Endpoint, why: Exception | str) -> None:
        endpoint.down_until = time.monotonic() + self.config.endpoint_cooldown_s
        line = first_error_line(why) if isinstance(why, Exception) else why
        endpoint.last_error = line[:200] or "failed"

    async def close(self) -> None:
        for endpoint in self.endpoints:
            if endpoint.probe is not None:
                endpoint.probe.cancel()
        await asyncio.gather(*(e.backend.close() for e in self.endpoints))

    async def _probe(self, endpoint: Endpoint) -> None:
        """Runs in the background: a rested endpoint gets work again once GET /models
        answers. Calls never wait on it unless no endpoint at all is up."""
        try:
            if endpoint.backend._session is None:  # never started (down at start)
                try:
                    await endpoint.backend.start()
                    why = None
                except BackendUnavailable as exc:
                    why = first_error_line(exc)
            else:
                why = await endpoint.backend.healthy()
            if why is None:
                endpoint.down_until = 0.0
                log.warning("endpoint %s is back", endpoint.url)
            else:
                self._take_out(endpoint, why)
        finally:
            endpoint.probe = None

    async def _pick(self, tried: set[str]) -> Endpoint | None:
        now = time.monotonic()
        for endpoint in self.endpoints:
            if endpoint.down_until and endpoint.down_until <= now and endpoint.probe is None:
                endpoint.probe = asyncio.create_task(self._probe(endpoint))
        up = [e for e in self.endpoints if not e.down_until and e.url not in tried]
        if not up:
            probing = [
                e.probe for e in self.endpoints if e.probe is not None and e.url not in tried
            ]
            if not probing:
                return None
            await asyncio.wait(probing)
            up = [e for e in self.endpoints if not e.down_until and e.url not in tried]
            if not up:
                return None
        if self.balance == "round_robin":
            return up[next(self._turn) % len(up)]
        # The most room under its limit (with equal limits: the fewest calls in flight); ties
        # go round the list so idle replicas share the start.
        start = next(self._turn) % len(up)
        ordered = up[start:] + up[:start]
        return max(ordered, key=lambda e: e.backend.limit.limit - e.in_flight)

    async def complete(self, request: ChatRequest) -> Completion:
        usage = Usage()
        tried: set[str] = set()
        last = ""
        while True:
            endpoint = await self._pick(tried)
            if endpoint is None:
                raise BackendError(f"no healthy endpoint left for this call (last: {last})", usage)
            tried.add(endpoint.url)
            endpoint.in_flight += 1
            endpoint.calls += 1
            try:
                completion = await endpoint.backend.complete(request)
            except BackendError as exc:
                usage.add(exc.usage)
                endpoint.failures += 1
                if exc.rejected:
                    raise BackendError(str(exc), usage, rejected=True) from None
                last = f"{endpoint.url}: {exc}"
                self._take_out(endpoint, exc)
                log.warning(
                    "endpoint %s taken out for %gs: %s",
                    endpoint.url,
                    self.config.endpoint_cooldown_s,
                    str(exc)[:120],
                )
                continue
            finally:
                endpoint.in_flight -= 1
            usage.add(completion.usage)
            completion.usage = usage
            return completion
