"""Several OpenAI-compatible endpoints as one backend: balancing by calls in flight, a failing
endpoint taken out and probed back, a refused request not moved, and start-up errors."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest

from factory.backends.base import ChatRequest
from factory.backends.multi import MultiEndpointBackend
from factory.backends.openai_backend import OpenAIOptions
from factory.errors import BackendError, BackendUnavailable
from factory.testing.fake_openai import FakeOpenAIServer, FakeReply

REQUEST = ChatRequest(messages=[{"role": "user", "content": "hi"}], max_tokens=16, temperature=0)


def dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def backend(*urls: str, **overrides) -> MultiEndpointBackend:
    config = OpenAIOptions(base_urls=list(urls), max_retries=0, backoff_s=0.01, **overrides)
    return MultiEndpointBackend(config, max_in_flight=64)


async def call_many(b: MultiEndpointBackend, n: int, concurrency: int) -> None:
    limit = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with limit:
            await b.complete(REQUEST)

    await asyncio.gather(*(one() for _ in range(n)))


async def test_the_faster_endpoint_gets_more_of_the_calls():
    with (
        FakeOpenAIServer(latency=0.01, slots=4) as fast,
        FakeOpenAIServer(latency=0.08, slots=4) as slow,
    ):
        b = backend(fast.url, slow.url)
        await b.start()
        try:
            await call_many(b, 120, concurrency=12)
        finally:
            await b.close()
    assert len(fast.requests) + len(slow.requests) == 120
    assert len(fast.requests) > 2 * len(slow.requests) > 0


async def test_a_failing_endpoint_is_taken_out_then_probed_back():
    with FakeOpenAIServer() as good, FakeOpenAIServer() as flaky:
        flaky.enqueue(*[FakeReply(status=503, body='{"error": {"message": "overloaded"}}')] * 3)
        b = backend(flaky.url, good.url, endpoint_cooldown_s=0.3)
        await b.start()
        try:
            results = [await b.complete(REQUEST) for _ in range(6)]
            assert all(r.text for r in results)
            stats = b.stats()
            assert stats[flaky.url]["failures"] >= 1 and stats[flaky.url]["up"] == 0
            # The failed attempt is paid for: it shows in the usage of the call that moved.
            assert sum(r.usage.failed_calls for r in results) >= 1
            before = len(flaky.requests)
            # The endpoint recovers. A call after the cooldown starts a background probe that
            # finds it up; on a loaded machine the probe may finish late, so keep calling
            # until it has, rather than trusting a fixed sleep.
            flaky.replies.clear()
            await asyncio.sleep(0.35)
            deadline = asyncio.get_running_loop().time() + 5.0
            while b.stats()[flaky.url]["up"] == 0:
                assert asyncio.get_running_loop().time() < deadline, "no probe brought it back"
                await b.complete(REQUEST)
                await asyncio.sleep(0.02)
            for _ in range(6):
                await b.complete(REQUEST)
            assert b.stats()[flaky.url]["up"] == 1 and len(flaky.requests) > before
        finally:
            await b.close()


async def test_a_refused_request_is_not_moved_to_another_endpoint():
    with FakeOpenAIServer() as a, FakeOpenAIServer() as other:
        a.enqueue(FakeReply(status=400, body='{"error": {"message": "context too long"}}'))
        other.enqueue(FakeReply(status=400, body='{"error": {"message": "context too long"}}'))
        b = backend(a.url, other.url)
        await b.start()
        try:
            with pytest.raises(BackendError) as caught:
                await b.complete(REQUEST)
            assert caught.value.rejected
            assert len(a.requests) + len(other.requests) == 1
            assert all(s["up"] == 1 for s in b.stats().values())
        finally:
            await b.close()


async def test_start_skips_a_dead_endpoint_and_fails_when_none_is_up():
    with FakeOpenAIServer() as alive:
        b = backend(dead_url(), alive.url)
        await b.start()
        try:
            await b.complete(REQUEST)
            assert len(alive.requests) == 1
        finally:
            await b.close()
    dead = [dead_url(), dead_url()]
    with pytest.raises(BackendUnavailable, match="none of the 2 endpoints is healthy"):
        await backend(*dead).start()


def test_generate_over_two_endpoints_matches_one(cli, tmp_path):
    with FakeOpenAIServer() as a, FakeOpenAIServer() as b:
        both = cli(
            "generate",
            "-b",
            "openai",
            "--model",
            "fake",
            "--base-url",
            f"{a.url},{b.url}",
            "-n",
            "8",
            "--concurrency",
            "4",
            "-o",
            str(tmp_path / "two"),
        )
        assert both.code == 0, both.err
        assert a.requests and b.requests
        one = cli(
            "generate",
            "-b",
            "openai",
            "--model",
            "fake",
            "--base-url",
            a.url,
            "-n",
            "8",
            "-o",
            str(tmp_path / "one"),
        )
        assert one.code == 0, one.err

    def ids(name: str) -> list[str]:
        lines = (tmp_path / name / "dialogues.jsonl").read_text().splitlines()
        return sorted(json.loads(x)["id"] for x in lines)

    assert ids("two") == ids("one")
    down = cli(
        "generate",
        "-b",
        "openai",
        "--model",
        "fake",
        "--base-url",
        f"{dead_url()},{dead_url()}",
        "-n",
        "2",
        "-o",
        str(tmp_path / "down"),
    )
    assert down.code == 1 and "none of the 2 endpoints is healthy" in down.err
    assert down.err.count("\n") == 1 and "Traceback" not in down.err


def test_a_wrong_url_among_several_is_an_error_not_an_outage(cli, tmp_path):
    with FakeOpenAIServer() as server:
        without_v1 = server.url.removesuffix("/v1")
        result = cli(
            "generate",
            "-b",
            "openai",
            "--model",
            "fake",
            "--base-url",
            f"{server.url},{without_v1}",
            "-n",
            "1",
            "-o",
            str(tmp_path / "run"),
        )
    assert result.code == 1 and "answered 404" in result.err and "did you mean" in result.err
    assert not (tmp_path / "run").exists()
    empty = cli(
        "generate",
        "-b",
        "openai",
        "--model",
        "fake",
        "--base-url",
        " , ",
        "-n",
        "1",
        "-o",
        str(tmp_path / "x"),
    )
    assert empty.code == 1 and "--base-url is empty" in empty.err
