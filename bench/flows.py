"""Complete device flows (authorize, approve, poll, use) from an asyncio client."""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass

import aiohttp

from bench import client


@dataclass(frozen=True)
class FlowResult:
    flows: int
    failures: int
    seconds: float
    latencies_ms: list[float]
    errors: list[str]

    @property
    def rate(self) -> float:
        return self.flows / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float | None:
        if not self.latencies_ms:
            return None
        # nearest rank: the 99th of 100 values is p99
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, max(0, math.ceil(len(ordered) * p / 100) - 1))]


async def run_flows(url: str, admin_token: str, concurrency: int, seconds: float) -> FlowResult:
    """As many whole device logins as ``concurrency`` clients finish in ``seconds``."""
    latencies: list[float] = []
    failures = 0
    errors: list[str] = []
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:
        started = time.perf_counter()
        deadline = started + seconds

        async def worker() -> None:
            nonlocal failures
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                try:
                    await client.device_flow(http, url, admin_token)
                except (client.Unexpected, aiohttp.ClientError) as exc:
                    failures += 1
                    if len(errors) < 3:
                        errors.append(str(exc)[:300])
                    continue
                latencies.append((time.perf_counter() - t0) * 1000)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return FlowResult(len(latencies), failures, elapsed, latencies, errors)
