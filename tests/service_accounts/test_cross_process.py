"""Two real server processes on one PostgreSQL: a deactivation made through one is refused by
the other within a second."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.builders import ADMIN_PASSWORD
from tests.servers import running_server

PROPAGATION_LIMIT = 1.0


@pytest.fixture
def servers(empty_postgres_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two zenml-server processes (A, B) on one emptied PostgreSQL database."""
    with (
        running_server(empty_postgres_url, tmp_path) as a,
        running_server(empty_postgres_url, tmp_path) as b,
    ):
        yield a.url, b.url


async def _status(session: aiohttp.ClientSession, url: str, credential: str) -> int:
    headers = {"Authorization": f"Bearer {credential}"}
    async with session.get(url + "/api/v1/current-user", headers=headers) as resp:
        return resp.status


async def _refused_after(session: aiohttp.ClientSession, url: str, *credentials: str) -> float:
    """Seconds until every credential is refused by ``url``; polls a bounded number of times."""
    started = time.monotonic()
    for _ in range(int(PROPAGATION_LIMIT / 0.02) * 2):
        statuses = [await _status(session, url, c) for c in credentials]
        if all(s == 401 for s in statuses):
            return time.monotonic() - started
        await asyncio.sleep(0.02)  # measuring propagation: the one bounded real wait
    return float("inf")


@pytest.mark.postgres
async def test_deactivation_reaches_other_process(servers: tuple[str, str]) -> None:
    """Deactivating a key, then its account, through A refuses the key and its token on B
    within one second."""
    a, b = servers
    async with aiohttp.ClientSession() as session:
        async with session.post(
            a + "/api/v1/login", data={"username": "admin", "password": ADMIN_PASSWORD}
        ) as resp:
            assert resp.status == 200, await resp.text()
            admin = {"Authorization": f"Bearer {(await resp.json())['access_token']}"}
        base = a + "/api/v1/service_accounts"
        async with session.post(base, json={"name": "xp"}, headers=admin) as resp:
            assert resp.status == 201
        async with session.post(base + "/xp/api_keys", json={"name": "k"}, headers=admin) as resp:
            secret = (await resp.json())["key"]
        form = {"grant_type": "zenml-api-key", "password": secret}
        async with session.post(b + "/api/v1/login", data=form) as resp:
            assert resp.status == 200
            token = (await resp.json())["access_token"]
        # B has now cached the key and account as active.
        assert await _status(session, b, secret) == 200
        assert await _status(session, b, token) == 200

        async with session.put(base + "/xp/api_keys/k", json={"active": False}, headers=admin):
            pass
        assert await _status(session, a, secret) == 401
        assert await _refused_after(session, b, secret, token) < PROPAGATION_LIMIT

        async with session.put(base + "/xp/api_keys/k", json={"active": True}, headers=admin):
            pass
        for _ in range(100):
            if await _status(session, b, token) == 200:
                break
            await asyncio.sleep(0.02)  # bounded: waiting for B to see the reactivation
        assert await _status(session, b, secret) == 200

        async with session.put(base + "/xp", json={"active": False}, headers=admin):
            pass
        assert await _refused_after(session, b, secret, token) < PROPAGATION_LIMIT
