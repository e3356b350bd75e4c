"""Two real server processes on one PostgreSQL: a deactivation made through one is refused by
the other within a second."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO

import aiohttp
import pytest

from zenml_server.storage.store import Store

REPO = Path(__file__).resolve().parents[2]
ADMIN_PASSWORD = "cross-process-admin-password"
JWT_SECRET = "cross-process-jwt-secret-0123456789abcdefghijkl"
START_TIMEOUT = 30.0
PROPAGATION_LIMIT = 1.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _open_log(log: Path) -> IO[bytes]:
    return log.open("wb")


def _env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZENML_")}
    env.update(
        ZENML_SERVER_DATABASE_URL=database_url,
        ZENML_SERVER_JWT_SECRET_KEY=JWT_SECRET,
        ZENML_SERVER_ADMIN_PASSWORD=ADMIN_PASSWORD,
    )
    return env


def _log_text(log: Path) -> str:
    return log.read_text(errors="replace")


async def _wait_healthy(
    session: aiohttp.ClientSession, url: str, proc: asyncio.subprocess.Process, log: Path
) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.returncode is not None:
            pytest.fail(f"server exited with {proc.returncode}:\n{_log_text(log)}")
        try:
            async with session.get(url + "/health") as resp:
                if resp.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)  # process start-up only, bounded by START_TIMEOUT
    pytest.fail(f"server did not start:\n{_log_text(log)}")


@pytest.fixture
async def servers(postgres_url: str, tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    """Two zenml-server processes (A, B) on one emptied PostgreSQL database."""
    store = await Store.open(postgres_url, pool_size=1)
    try:
        await store.db.execute(
            "TRUNCATE api_keys, service_accounts, devices, web_sessions, users, "
            "credential_changes RESTART IDENTITY CASCADE"
        )
    finally:
        await store.close()
    procs: list[asyncio.subprocess.Process] = []
    urls: list[str] = []
    try:
        async with aiohttp.ClientSession() as session:
            for name in ("a", "b"):
                port = _free_port()
                log = tmp_path / f"server-{name}.log"
                with _open_log(log) as output:
                    procs.append(
                        await asyncio.create_subprocess_exec(
                            sys.executable,
                            "-m",
                            "zenml_server",
                            "--port",
                            str(port),
                            env=_env(postgres_url),
                            stdout=output,
                            stderr=asyncio.subprocess.STDOUT,
                            cwd=REPO,
                        )
                    )
                urls.append(f"http://127.0.0.1:{port}")
                await _wait_healthy(session, urls[-1], procs[-1], log)
        yield urls[0], urls[1]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                await asyncio.wait_for(proc.wait(), timeout=10)
            except TimeoutError:
                proc.kill()
                await proc.wait()


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
