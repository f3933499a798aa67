"""A fake OpenAI-compatible server on 127.0.0.1, for tests, benchmarks and offline demos.

It answers /v1/models and /v1/chat/completions after a fixed latency. By default each
answer is the scripted backend's canned output for the agent the request looks like
(seeker and counselor by their JSON schema, otherwise supporter); queued `FakeReply`s
override that to script errors (429 with Retry-After, 500, slow or malformed replies).
Run it alone with `python -m factory.testing.fake_openai --port 8000 --latency 0.2`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import threading
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


class FakeOpenAIServer:
    """Start with `start()` (runs in its own thread and loop); `url` is the base URL."""

    def __init__(
        self,
        latency: float = 0.0,
        port: int = 0,
        slots: int | None = None,
        models: tuple[str, ...] = (),
    ) -> None:
        self.latency = latency
        self.port = port
        # At most `slots` requests are served at once; the rest queue, as on a real server
        # whose batch is full. None: no limit.
        self._slots = asyncio.Semaphore(slots) if slots else None
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
        if self._slots is not None:
            async with self._slots:
                return await self._answer(body, request)
        return await self._answer(body, request)

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per call")
    args = parser.parse_args()
    server = FakeOpenAIServer(latency=args.latency, port=args.port)
    web.run_app(server.app(), host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
