"""The multi-endpoint scheduler against fake OpenAI-compatible servers of different speeds:
each server serves `--slots` calls at once with its own latency (the rest queue), so its
capacity is slots / latency calls per second. Measures each endpoint alone, then all of them
behind one backend balanced by calls in flight, and round-robin for comparison, all in this
one run.

    python bench/endpoints.py --latencies 0.05,0.1,0.2 --slots 8 --calls 3000 --concurrency 96
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import time

from factory.backends.base import ChatRequest
from factory.backends.multi import MultiEndpointBackend
from factory.backends.openai_backend import OpenAIOptions
from factory.testing.fake_openai import FakeOpenAIServer

REQUEST = ChatRequest(messages=[{"role": "user", "content": "hi"}], max_tokens=16, temperature=0)


async def throughput(urls: list[str], calls: int, concurrency: int, balance: str) -> float:
    config = OpenAIOptions(model="fake", base_urls=urls, max_retries=0)
    backend = MultiEndpointBackend(config, max_in_flight=concurrency, balance=balance)
    await backend.start()
    limit = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with limit:
            await backend.complete(REQUEST)

    try:
        began = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(calls)))
        return calls / (time.perf_counter() - began)
    finally:
        await backend.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latencies", default="0.05,0.1,0.2")
    parser.add_argument("--slots", type=int, default=8)
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=96)
    args = parser.parse_args()
    latencies = [float(x) for x in args.latencies.split(",")]
    print(f"# {platform.machine()} {os.cpu_count()} cpus, python {platform.python_version()}")
    servers = [FakeOpenAIServer(latency=lat, slots=args.slots).start() for lat in latencies]
    try:
        alone = []
        for server, latency in zip(servers, latencies, strict=True):
            rate = asyncio.run(
                throughput([server.url], args.calls // 3, args.concurrency, "least_in_flight")
            )
            alone.append(rate)
            print(
                f"endpoint alone, latency {latency:g}s x {args.slots} slots: {rate:7.1f} calls/s"
                f" (nominal {args.slots / latency:.0f})"
            )
        total = sum(alone)
        print(f"sum of the endpoints alone: {total:.1f} calls/s")
        urls = [s.url for s in servers]
        for balance in ("least_in_flight", "round_robin"):
            for s in servers:
                s.requests.clear()
            rate = asyncio.run(throughput(urls, args.calls, args.concurrency, balance))
            shares = " / ".join(f"{len(s.requests)}" for s in servers)
            print(
                f"{balance:<16} all {len(servers)} endpoints: {rate:7.1f} calls/s ="
                f" {rate / total:.2f} of the sum; calls per endpoint {shares}"
            )
    finally:
        for s in servers:
            s.stop()


if __name__ == "__main__":
    main()
