"""`--concurrency auto`: the AIMD limit on its own, against a modelled server, and end to end
against the fake server given a capacity."""

import asyncio
import json

import pytest

from factory.backends.adaptive import ConcurrencyLimit
from factory.runs.config import load_config
from factory.runs.generate import generate
from factory.testing.fake_openai import Capacity, FakeOpenAIServer


def settle(limit: ConcurrencyLimit, slots: int, queue: int, rounds: int = 200) -> list[int]:
    """Round trips against a modelled server: the calls the limit allows finish together;
    past `slots` they queue (latency grows with the queue), past slots + queue they get 429."""
    seen = []
    for _ in range(rounds):
        calls = limit.limit
        limit._window_full = True  # the run always has more calls waiting
        latency = 1.0 * max(1.0, calls / slots)
        for i in range(calls):
            overloaded = i >= slots + queue
            limit.observe("overload" if overloaded else "ok", latency)
        seen.append(limit.limit)
    return seen


def test_auto_climbs_to_the_servers_slots_and_stays_near_them():
    limit = ConcurrencyLimit.auto(ceiling=256, start=2)
    seen = settle(limit, slots=24, queue=100)
    # Slow start doubles 2 -> 4 -> ... until queueing doubles the latency, then AIMD.
    assert seen[:3] == [4, 8, 16]
    late = seen[-100:]
    assert min(late) >= 24, "fell below the server's slots: throughput lost"
    assert max(late) <= 2 * 24 + 2, "kept a queue twice the slots: latency lost"
    assert limit.reasons["latency"] > 0 and limit.reasons["overload"] == 0


def test_auto_backs_off_on_429_and_never_passes_the_ceiling():
    limit = ConcurrencyLimit.auto(ceiling=40, start=4)
    seen = settle(limit, slots=1000, queue=0)  # no queueing: only the ceiling stops it
    assert max(seen) == 40 and seen[-1] == 40
    limit = ConcurrencyLimit.auto(ceiling=400, start=4)
    seen = settle(limit, slots=10, queue=2)  # 429 past 12 in flight
    assert limit.reasons["overload"] > 0
    assert max(seen[-100:]) <= 2 * 12


def test_a_fixed_limit_never_moves():
    limit = ConcurrencyLimit.fixed(8)
    settle(limit, slots=2, queue=0, rounds=20)
    assert limit.limit == 8 and limit.record()["changes"] == {"start": 1}


async def test_slots_are_handed_out_in_order_and_a_raised_limit_wakes_waiters():
    limit = ConcurrencyLimit.fixed(1)
    order = []

    async def call(name: str) -> None:
        async with limit.slot():
            order.append(name)
            await asyncio.sleep(0.01)

    await asyncio.gather(*(call(str(i)) for i in range(4)))
    assert order == ["0", "1", "2", "3"] and limit.in_flight == 0

    limit = ConcurrencyLimit.auto(ceiling=8, start=1)
    entered = asyncio.Event()

    async def hold() -> None:
        async with limit.slot():
            entered.set()
            await asyncio.sleep(0.2)

    holder = asyncio.create_task(hold())
    await entered.wait()
    waiter = asyncio.create_task(call("w"))
    await asyncio.sleep(0.02)
    assert not waiter.done()
    limit.observe("ok", 0.1)  # closes the one-call window: slow start doubles to 2
    assert limit.limit == 2
    await asyncio.wait_for(waiter, 1)  # let in while the holder still holds its slot
    await holder


async def test_a_cancelled_waiter_gives_back_nothing_it_did_not_take():
    limit = ConcurrencyLimit.fixed(1)
    async with limit.slot():
        waiter = asyncio.create_task(limit.slot().__aenter__())
        await asyncio.sleep(0.01)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
    assert limit.in_flight == 0
    async with limit.slot():
        assert limit.in_flight == 1


async def test_generate_with_auto_against_a_loaded_server(tmp_path):
    """End to end: the limit climbs from its start, the run completes without a failure, and
    the manifest records the endpoint's limit, peak and the reasons it changed."""
    capacity = Capacity(slots=6, queue=2, growth=0.2)
    with FakeOpenAIServer(latency=0.02, capacity=capacity, models=("m",)) as server:
        config = load_config(
            None,
            {
                "n": 8,
                "concurrency": "auto",
                "max_concurrency": 32,
                "backend.kind": "openai",
                "backend.base_url": server.url.replace("//", "//user:s3cret-pass@"),
                "backend.model": "m",
                "roleplay.max_exchanges": 6,
            },
        )
        report = await generate(config, tmp_path / "run")
    assert report.written == 8 and report.backend_failures == 0 and not report.error_dialogues
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    [record] = manifest["sessions"][-1]["concurrency"]
    assert record["mode"] == "auto" and record["ceiling"] == 32
    assert "s3cret-pass" not in json.dumps(manifest) and record["endpoint"].endswith("/v1")
    assert record["peak"] > 4  # it climbed from its start of 4
    assert set(record["changes"]) <= {"start", "slow_start", "increase", "latency", "overload"}
    assert (
        server.load is not None
        and server.load.served == report.usage.calls - report.usage.failed_calls
    )


def test_concurrency_accepts_a_number_or_auto_and_nothing_else():
    assert load_config(None, {"concurrency": "auto"}).auto_concurrency
    assert load_config(None, {"concurrency": 3}).in_flight == 3
    assert load_config(None, {"concurrency": "auto", "max_concurrency": 9}).in_flight == 9
    from factory.errors import ConfigError

    with pytest.raises(ConfigError):
        load_config(None, {"concurrency": "lots"})


def test_a_slower_workload_is_remeasured_not_cut_to_nothing():
    """Latency triples for good, whatever the concurrency (longer prompts): after a cut that
    does not help, the floor is re-measured and the limit climbs again."""
    limit = ConcurrencyLimit.auto(ceiling=64, start=2)
    settle(limit, slots=1000, queue=0, rounds=10)  # climbs to the ceiling at latency 1.0
    assert limit.limit == 64
    for _ in range(30):
        limit._window_full = True
        for _ in range(limit.limit):
            limit.observe("ok", 3.0)
    assert limit.reasons["latency"] <= 2 and limit.limit >= 50
