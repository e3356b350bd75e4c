"""How long until another process refuses a revoked credential.

    python -m bench.revocation [--trials 100] [--engine postgresql|sqlite]

Two server processes, A and B, on one database. Each trial makes a credential on A, uses it
on B (so B has it cached), revokes it on A, and asks B again and again until B refuses it:
- a device token, revoked by locking the device on A (PUT /api/v1/devices/{id});
- an API-key token, revoked by deactivating the key on A.
Times are from sending the revoking request to A to B's first 401, and from A's answer
(the change committed) to that 401.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp

from bench import client, report
from bench.servers import database, running, start_ours

GIVE_UP_SECONDS = 5.0
Revoke = Callable[[], Awaitable[None]]


async def _until_refused(http: aiohttp.ClientSession, url: str, token: str) -> float | None:
    deadline = time.perf_counter() + GIVE_UP_SECONDS
    while time.perf_counter() < deadline:
        status = await client.current_user(http, url, token)
        if status == 401:
            return time.perf_counter()
    return None


async def _trial(
    http: aiohttp.ClientSession, b_url: str, token: str, revoke: Revoke
) -> dict[str, float | None]:
    if await client.current_user(http, b_url, token) != 200:
        raise client.Unexpected("B refused a fresh credential")
    sent = time.perf_counter()
    await revoke()
    answered = time.perf_counter()
    refused = await _until_refused(http, b_url, token)
    if refused is None:
        return {"from_send_ms": None, "from_commit_ms": None}
    return {
        "from_send_ms": (refused - sent) * 1000,
        "from_commit_ms": (refused - answered) * 1000,
        "revoke_request_ms": (answered - sent) * 1000,
    }


async def measure(a_url: str, b_url: str, trials: int) -> dict[str, list[dict[str, Any]]]:
    results: dict[str, list[dict[str, Any]]] = {"device lock": [], "API key deactivation": []}
    async with aiohttp.ClientSession() as http:
        admin = await client.password_token(http, a_url)
        for _ in range(trials):
            auth, token = await client.device_flow(http, a_url, admin)
            results["device lock"].append(
                await _trial(
                    http,
                    b_url,
                    token,
                    partial(client.lock_device, http, a_url, admin, auth.device_id),
                )
            )
            key = await client.create_api_key(http, a_url, admin)
            key_token = await client.api_key_token(http, a_url, key.secret)
            results["API key deactivation"].append(
                await _trial(
                    http,
                    b_url,
                    key_token,
                    partial(client.set_key_active, http, a_url, admin, key, False),
                )
            )
    return results


def _pct(values: list[float], p: float) -> float:
    # nearest rank: the 99th of 100 values is p99
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(len(ordered) * p / 100) - 1))]


def summarize(trials: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"trials": len(trials)}
    out["not_refused_within_5s"] = sum(1 for t in trials if t["from_send_ms"] is None)
    for key in ("from_send_ms", "from_commit_ms"):
        values = [t[key] for t in trials if t[key] is not None]
        if values:
            out[key] = {
                "p50": statistics.median(values),
                "p99": _pct(values, 99),
                "max": max(values),
            }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--engine", choices=["postgresql", "sqlite"], default="postgresql")
    args = parser.parse_args()
    settings = {"rate_limit_scale": "1000"}
    before = report.machine()
    with tempfile.TemporaryDirectory(prefix="zenml-bench-") as tmp, ExitStack() as stack:
        work = Path(tmp)
        url = stack.enter_context(database(args.engine, work, "revocation"))
        a = stack.enter_context(running(start_ours(url, work, **settings)))
        b = stack.enter_context(running(start_ours(url, work, **settings)))
        raw = asyncio.run(measure(a.url, b.url, args.trials))
    summary = {kind: summarize(trials) for kind, trials in raw.items()}
    print(f"revocation across processes on {args.engine} ({args.trials} trials each):")
    for kind, s in summary.items():
        line = f"  {kind:<22}"
        for key, label in (("from_send_ms", "from request"), ("from_commit_ms", "from commit")):
            if key in s:
                v = s[key]
                line += f"  {label}: p50 {v['p50']:.1f} ms, p99 {v['p99']:.1f} ms, "
                line += f"max {v['max']:.1f} ms;"
        line += f"  not refused within {GIVE_UP_SECONDS:.0f} s: {s['not_refused_within_5s']}"
        print(line)
    after = report.machine()  # the two servers were waited for: their CPU time is counted
    note = report.busy_note(before, after)
    if note:
        print(note)
    path = report.write_json(
        "revocation",
        {"engine": args.engine, "summary": summary, "trials": raw, "machine": [before, after]},
    )
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
