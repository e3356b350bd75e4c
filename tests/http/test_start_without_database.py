"""A replica started while its database is down: alive, not ready, and up once it comes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from yarl import URL

from tests.builders import ADMIN_PASSWORD
from tests.conftest import _create_pg_database, _drop_pg_database, _pg_url
from tests.proxy import TcpProxy
from tests.servers import free_port, running_server

pytestmark = pytest.mark.postgres


@pytest.fixture
async def fresh_database(postgres_url: str) -> AsyncIterator[str]:
    """A brand-new, unmigrated database."""
    name = await _create_pg_database()
    try:
        yield _pg_url(name)
    finally:
        await _drop_pg_database(name)


async def _status(session: aiohttp.ClientSession, url: str) -> int:
    async with session.get(url) as resp:
        await resp.read()
        return resp.status


async def test_replica_starts_before_its_database(fresh_database: str, tmp_path: Path) -> None:
    """With the database down the server answers /health 200 and 503 elsewhere; when the
    database comes it migrates, creates the admin and becomes ready by itself."""
    target = URL(fresh_database)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    proxy.port = free_port()  # nothing listens there yet: the database is "down"
    with running_server(str(target.with_port(proxy.port)), tmp_path) as server:
        async with aiohttp.ClientSession() as session:
            assert await _status(session, server.url + "/health") == 200
            async with session.get(server.url + "/ready") as ready:
                assert ready.status == 503 and ready.headers["Retry-After"] == "5"
                assert (await ready.json())["status"] == "unavailable"
            login = {"username": "admin", "password": ADMIN_PASSWORD}
            async with session.post(server.url + "/api/v1/login", data=login) as resp:
                assert resp.status == 503
                assert (await resp.json())["error"] == "temporarily_unavailable"

            await proxy.start()
            try:
                await _until_ready(session, server.url)
                async with session.post(server.url + "/api/v1/login", data=login) as resp:
                    assert resp.status == 200
            finally:
                await proxy.cut()
        # Stop it while this loop (and so the proxy) keeps running, as a real database would.
        server.process.terminate()
        assert await asyncio.to_thread(server.process.wait, 30) == 0
    log = server.log.read_text()
    assert "waiting for the database" in log and "Traceback" not in log
    waiting = log.split("ready at")[0]
    assert waiting.count("WARNING") == 1  # the database is not available: once, not per retry


async def test_sigterm_while_waiting_for_the_database_exits_0(tmp_path: Path) -> None:
    """A server still waiting for its database stops cleanly on SIGTERM."""
    dead = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"
    with running_server(dead, tmp_path) as server:
        async with aiohttp.ClientSession() as session:
            assert await _status(session, server.url + "/health") == 200
    assert server.process.returncode == 0


async def _until_ready(session: aiohttp.ClientSession, url: str) -> None:
    async with asyncio.timeout(30):
        while True:
            if await _status(session, url + "/ready") == 200:
                return
            await asyncio.sleep(0.1)
