"""The openai backend over real HTTP against the fake server on 127.0.0.1, both transports."""

import json
import re
import time

import pytest

from factory.backends.base import ChatRequest
from factory.backends.openai_backend import OpenAIBackend, OpenAIOptions
from factory.errors import BackendError, BackendUnavailable
from factory.testing.fake_openai import FakeReply

pytestmark = pytest.mark.parametrize("transport", ["http", "sdk"])

REQUEST = ChatRequest(
    messages=[{"role": "user", "content": "hi"}], max_tokens=32, temperature=0.5, seed=3
)


def backend_for(server, transport, **overrides):
    cfg = OpenAIOptions(
        base_url=server.url,
        model="fake-model",
        transport=transport,
        backoff_s=0.01,
        max_backoff_s=0.05,
        **overrides,
    )
    return OpenAIBackend(cfg, max_in_flight=4)


async def complete_once(server, transport, request=REQUEST, **overrides):
    """Start a backend, make one call, close it (also when the call raises)."""
    backend = backend_for(server, transport, **overrides)
    await backend.start()
    try:
        return await backend.complete(request)
    finally:
        await backend.close()


async def test_success_counts_tokens_and_sends_the_request(fake_server, transport, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret")
    fake_server.enqueue(FakeReply(content="hello there"))
    completion = await complete_once(fake_server, transport)
    assert completion.text == "hello there"
    assert completion.usage.model_dump() == {
        "calls": 1,
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "failed_calls": 0,
    }
    sent = fake_server.requests[-1]
    assert sent["model"] == "fake-model"
    assert sent["messages"] == [{"role": "user", "content": "hi"}]
    assert sent["max_tokens"] == 32 and sent["seed"] == 3
    assert fake_server.headers[-1]["Authorization"] == "Bearer sk-test-secret"


async def test_429_honours_retry_after(fake_server, transport):
    fake_server.enqueue(
        FakeReply(status=429, body="{}", headers={"Retry-After": "0.3"}), FakeReply(content="ok")
    )
    began = time.perf_counter()
    completion = await complete_once(fake_server, transport)
    assert time.perf_counter() - began >= 0.3
    assert completion.text == "ok"
    assert completion.usage.calls == 2 and completion.usage.failed_calls == 1


async def test_500_is_retried(fake_server, transport):
    fake_server.enqueue(
        FakeReply(status=500, body='{"error": {"message": "boom"}}'),
        FakeReply(status=503),
        FakeReply(content="ok"),
    )
    completion = await complete_once(fake_server, transport)
    assert completion.text == "ok"
    assert completion.usage.calls == 3 and completion.usage.failed_calls == 2


async def test_timeout_is_retried_then_gives_up_with_usage(fake_server, transport):
    fake_server.enqueue(*[FakeReply(delay=1.0, content="late") for _ in range(3)])
    with pytest.raises(BackendError, match="timed out") as caught:
        await complete_once(fake_server, transport, timeout_s=0.2, max_retries=2)
    assert caught.value.usage.calls == 3 and caught.value.usage.failed_calls == 3


async def test_malformed_body_is_retried(fake_server, transport):
    fake_server.enqueue(
        FakeReply(body="{not json"), FakeReply(body='{"choices": []}'), FakeReply(content="fine")
    )
    completion = await complete_once(fake_server, transport)
    assert completion.text == "fine"
    assert completion.usage.failed_calls == 2


async def test_client_error_is_not_retried(fake_server, transport):
    fake_server.enqueue(FakeReply(status=400, body='{"error": {"message": "bad schema"}}'))
    with pytest.raises(BackendError, match=r"HTTP 400.*bad schema") as caught:
        await complete_once(fake_server, transport)
    assert caught.value.usage.calls == 1
    assert len(fake_server.requests) == 1


@pytest.mark.parametrize("mode", ["json_schema", "json_object", "prompt"])
async def test_structured_request_shapes(fake_server, transport, mode):
    schema = {
        "type": "object",
        "properties": {
            "strategy": {"type": "string", "enum": ["Question"]},
            "rationale": {"type": "string", "maxLength": 120},
        },
    }
    fake_server.enqueue(FakeReply(content=json.dumps({"strategy": "Question"})))
    request = ChatRequest(
        messages=REQUEST.messages,
        max_tokens=96,
        temperature=0.2,
        json_schema=schema,
        schema_name="strategy_choice",
    )
    await complete_once(fake_server, transport, request, structured=mode)
    sent = fake_server.requests[-1]
    # OpenAI's strict mode refuses string-length keywords; the other modes keep them.
    stripped = {**schema, "properties": {**schema["properties"], "rationale": {"type": "string"}}}
    if mode == "json_schema":
        assert sent["response_format"] == {
            "type": "json_schema",
            "json_schema": {"name": "strategy_choice", "schema": stripped, "strict": True},
        }
    elif mode == "json_object":
        assert sent["response_format"] == {"type": "json_object", "schema": schema}
    else:
        assert "response_format" not in sent


async def test_unreachable_server_is_a_clear_error(transport):
    backend = OpenAIBackend(OpenAIOptions(base_url="http://127.0.0.1:9/v1", transport=transport), 2)
    with pytest.raises(
        BackendUnavailable,
        match=re.escape("cannot reach an OpenAI-compatible server at http://127.0.0.1:9/v1"),
    ):
        await backend.start()


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe not utf-8 at all",
        json.dumps({"choices": [{"message": {"content": "x"}}], "usage": [1, 2]}).encode(),
        json.dumps(
            {"choices": [{"message": {"content": "x"}}], "usage": {"prompt_tokens": "n/a"}}
        ).encode(),
    ],
)
async def test_odd_bodies_never_crash(fake_server, transport, body):
    fake_server.enqueue(FakeReply(raw=body), FakeReply(content="fine"))
    completion = await complete_once(fake_server, transport)
    # Either the odd body was usable (bad usage is counted as 0 tokens) or it was retried.
    assert completion.text in {"x", "fine"}
    assert completion.usage.prompt_tokens in {0, 10}


async def test_retry_after_http_date_and_ms(fake_server, transport):
    from email.utils import formatdate

    soon = formatdate(time.time() + 1, usegmt=True)
    fake_server.enqueue(
        FakeReply(status=429, body="{}", headers={"retry-after-ms": "150"}),
        FakeReply(status=503, body="{}", headers={"Retry-After": soon}),
        FakeReply(content="ok"),
    )
    began = time.perf_counter()
    completion = await complete_once(fake_server, transport)
    assert completion.text == "ok"
    assert time.perf_counter() - began >= 0.15


@pytest.mark.parametrize("value", ["nan", "inf", "-5", "soon"])
async def test_nonsense_retry_after_falls_back_to_backoff(fake_server, transport, value):
    fake_server.enqueue(
        FakeReply(status=429, body="{}", headers={"Retry-After": value}), FakeReply(content="ok")
    )
    began = time.perf_counter()
    completion = await complete_once(fake_server, transport)
    assert completion.text == "ok"
    assert time.perf_counter() - began < 2


async def test_retry_after_beyond_the_limit_fails_the_call(fake_server, transport):
    fake_server.enqueue(FakeReply(status=429, body="{}", headers={"Retry-After": "86400"}))
    with pytest.raises(BackendError, match=r"asks to wait 86400s"):
        await complete_once(fake_server, transport, max_retry_after_s=60)


async def test_base_url_without_v1_is_caught_at_start(fake_server, transport):
    root = fake_server.url.removesuffix("/v1")
    backend = OpenAIBackend(OpenAIOptions(base_url=root, transport=transport), 2)
    with pytest.raises(BackendUnavailable, match=re.escape(f"did you mean {root}/v1?")):
        await backend.start()


async def test_rejected_request_is_marked_final(fake_server, transport):
    fake_server.enqueue(
        FakeReply(status=404, body='{"error": {"message": "model nope does not exist"}}')
    )
    with pytest.raises(BackendError) as caught:
        await complete_once(fake_server, transport)
    assert caught.value.rejected
    assert "model nope does not exist" in str(caught.value)
