"""A fake OpenAI-compatible server on 127.0.0.1, for tests, benchmarks and offline demos.

It answers /v1/models and /v1/chat/completions after a fixed latency. By default each
answer is the scripted backend's canned output for the agent the request looks like
(seeker and counselor by their JSON schema, otherwise supporter); queued `FakeReply`s
override that to script errors (429 with Retry-After, 500, slow or malformed replies).
Run it alone with `python -m factory.testing.fake_openai --port 8000 --latency 0.2`.

Given a `Capacity` it behaves like a loaded inference server: `slots` calls are served at
once, each taking `latency` x (1 + growth x busy / slots) (a batch that grows slows every
call in it a little); up to `queue` more wait for a slot; past that, 429. With `rate` it
also throttles (429 with Retry-After) every call beyond that many a second, as a hosted
provider's rate limit does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from factory.backends.base import ChatRequest
from factory.backends.scripted import canned_response


@dataclass
class FakeReply:
    status: int = 200
    content: str | None = None
    body: str | None = None
    raw: bytes | None = None  # sent as is, with status 200 unless `status` says otherwise
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def _agent_of(body: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    fmt = body.get("response_format") or {}
    schema = (fmt.get("json_schema") or {}).get("schema") or fmt.get("schema")
    props = (schema or {}).get("properties", {})
    if "strategy" in props:
        return "counselor", schema
    if "messages" in props or "message" in props:
        return "seeker", schema
    # A client that sends no schema (distilabel's LLMs): tell the role by its prompt.
    system = next(
        (m.get("content", "") for m in body.get("messages", []) if m.get("role") == "system"), ""
    )
    if isinstance(system, str) and '"strategy":' in system:
        # The menu the prompt lists stands in for the schema's enum.
        menu = system.split("Strategies you may choose now:", 1)[-1]
        names = [line[2:].split(":", 1)[0] for line in menu.splitlines() if line.startswith("- ")]
        enum = {"properties": {"strategy": {"enum": names}}} if names else None
        return "counselor", enum
    if isinstance(system, str) and '{"messages":' in system:
        return "seeker", None
    return "supporter", schema


def completion_body(content: str, prompt_tokens: int = 10, completion_tokens: int = 5) -> str:
    return json.dumps(
        {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "model": "fake",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
    )


@dataclass
class Capacity:
    slots: int
    queue: int = 0
    growth: float = 0.0
    rate: float | None = None  # accepted calls per second; more get 429
    retry_after_s: float = 1.0


class _Load:
    """A `Capacity` in force: slots, the queue before them and a token bucket."""

    def __init__(self, capacity: Capacity) -> None:
        self.capacity = capacity
        self.slots = asyncio.Semaphore(capacity.slots)
        self.busy = 0
        self.waiting = 0
        self.rejected = 0
        self.served = 0
        self._tokens = capacity.rate or 0.0
        self._refilled = 0.0

    def admit(self, now: float) -> bool:
        c = self.capacity
        if c.rate is not None:
            elapsed = now - self._refilled if self._refilled else 0.0
            self._tokens = min(c.rate, self._tokens + elapsed * c.rate)
            self._refilled = now
            if self._tokens < 1:
                return False
            self._tokens -= 1
        return self.busy + self.waiting < c.slots + c.queue

    def service_s(self, latency: float) -> float:
        c = self.capacity
        return latency * (1 + c.growth * self.busy / c.slots)


class FakeOpenAIServer:
    """Start with `start()` (runs in its own thread and loop); `url` is the base URL."""

    def __init__(
        self,
        latency: float = 0.0,
        port: int = 0,
        slots: int | None = None,
        models: tuple[str, ...] = (),
        capacity: Capacity | None = None,
    ) -> None:
        self.latency = latency
        self.port = port
        # At most `slots` requests are served at once; the rest queue, as on a real server
        # whose batch is full. None: no limit.
        self._slots = asyncio.Semaphore(slots) if slots else None
        self.load = _Load(capacity) if capacity else None
        self.replies: deque[FakeReply] = deque()
        self.requests: list[dict[str, Any]] = []
        self.models = models
        self.headers: list[dict[str, str]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def enqueue(self, *replies: FakeReply) -> None:
        self.replies.extend(replies)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/chat/completions", self._chat)
        return app

    async def _models(self, request: web.Request) -> web.Response:
        # The models it was told to list: none by default, as some servers list none; then
        # clients cannot check the name they were given.
        data = [{"id": name, "object": "model"} for name in self.models]
        return web.json_response({"object": "list", "data": data})

    async def _chat(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            body = json.loads(raw)
        except json.JSONDecodeError:
            return web.json_response({"error": {"message": "body is not JSON"}}, status=400)
        if self.load is not None:
            return await self._under_load(self.load, body, request)
        if self._slots is not None:
            async with self._slots:
                return await self._answer(body, request)
        return await self._answer(body, request)

    async def _under_load(
        self, load: _Load, body: dict[str, Any], request: web.Request
    ) -> web.Response:
        if not load.admit(asyncio.get_running_loop().time()):
            load.rejected += 1
            return web.json_response(
                {"error": {"message": "server busy: too many requests"}},
                status=429,
                headers={"Retry-After": f"{load.capacity.retry_after_s:g}"},
            )
        load.waiting += 1
        try:
            await load.slots.acquire()
        finally:
            load.waiting -= 1
        load.busy += 1
        try:
            await asyncio.sleep(load.service_s(self.latency))
            load.served += 1
            return web.Response(
                text=completion_body(self._canned(body)), content_type="application/json"
            )
        finally:
            load.busy -= 1
            load.slots.release()

    async def _answer(self, body: dict[str, Any], request: web.Request) -> web.Response:
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        reply = self.replies.popleft() if self.replies else None
        delay = self.latency + (reply.delay if reply else 0.0)
        if delay:
            await asyncio.sleep(delay)
        if reply is not None and reply.raw is not None:
            return web.Response(status=reply.status, body=reply.raw, headers=reply.headers)
        if reply is not None and (reply.status != 200 or reply.body is not None):
            return web.Response(
                status=reply.status,
                text=reply.body or "",
                headers=reply.headers,
                content_type="application/json",
            )
        content = (
            reply.content if reply is not None and reply.content is not None else self._canned(body)
        )
        return web.Response(text=completion_body(content), content_type="application/json")

    @staticmethod
    def _canned(body: dict[str, Any]) -> str:
        agent, schema = _agent_of(body)
        request = ChatRequest(
            messages=body.get("messages", []),
            max_tokens=int(body.get("max_tokens") or 16),
            temperature=float(body.get("temperature") or 0),
            json_schema=schema,
            seed=body.get("seed"),
            agent=agent,
        )
        return canned_response(request)

    # -- lifecycle in a background thread ------------------------------------------------
    def start(self) -> FakeOpenAIServer:
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            self._runner = web.AppRunner(self.app(), access_log=None)
            loop.run_until_complete(self._runner.setup())
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", self.port))
            self.port = sock.getsockname()[1]
            site = web.SockSite(self._runner, sock, backlog=1024)
            loop.run_until_complete(site.start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=serve, name="fake-openai", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake OpenAI server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def spawn(*args: str) -> tuple[subprocess.Popen[bytes], str]:
    """This server in a process of its own (for benchmarks: no GIL shared with the client),
    given `main`'s command-line arguments; returns the process and its base URL once it
    accepts connections."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    command = [sys.executable, "-m", "factory.testing.fake_openai", "--port", str(port), *args]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, f"http://127.0.0.1:{port}/v1"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the fake server did not start within 20 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per call")
    parser.add_argument("--slots", type=int, help="calls served at once (a Capacity)")
    parser.add_argument("--queue", type=int, default=0, help="calls waiting; more get 429")
    parser.add_argument("--growth", type=float, default=0.0, help="latency growth at full batch")
    parser.add_argument("--rate", type=float, help="calls accepted a second; more get 429")
    parser.add_argument("--models", default="", help="comma-separated names for /v1/models")
    args = parser.parse_args()
    capacity = (
        Capacity(args.slots or 10**6, args.queue, args.growth, args.rate)
        if args.slots or args.rate
        else None
    )
    models = tuple(m for m in args.models.split(",") if m)
    server = FakeOpenAIServer(
        latency=args.latency, port=args.port, capacity=capacity, models=models
    )
    web.run_app(server.app(), host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
