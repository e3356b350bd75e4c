"""A database that goes away: 503s, never a crash, and recovery by itself."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from yarl import URL

from tests.builders import ADMIN_PASSWORD, bearer, make_settings
from tests.proxy import TcpProxy
from zenml_server.domain.clock import ManualClock
from zenml_server.http.app import create_app
from zenml_server.storage.store import Store

pytestmark = pytest.mark.postgres


@pytest.fixture
async def proxied(postgres_url: str) -> AsyncIterator[tuple[TcpProxy, Store]]:
    """A store that reaches PostgreSQL through a proxy the test can cut."""
    target = URL(postgres_url)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    await proxy.start()
    store = await Store.open(str(target.with_port(proxy.port)), pool_size=2)
    await store.db.execute(
        "TRUNCATE users, server_settings, web_sessions, credential_changes CASCADE"
    )
    try:
        yield proxy, store
    finally:
        await proxy.cut()
        await store.close()


async def test_outage_gives_503_and_recovers(aiohttp_client: Any, proxied: Any) -> None:
    """While the database is away /ready and API calls answer 503; afterwards all works again."""
    proxy, store = proxied
    client = await aiohttp_client(create_app(make_settings(), store=store, clock=ManualClock()))
    resp = await client.post(
        "/api/v1/login", data={"username": "admin", "password": ADMIN_PASSWORD}
    )
    token = (await resp.json())["access_token"]

    await proxy.cut()
    ready = await client.get("/ready")
    assert ready.status == 503
    users = await client.get("/api/v1/users", headers=bearer(token))
    assert users.status == 503
    assert (await users.json())["error"] == "service_unavailable"
    login = await client.post(
        "/api/v1/login", data={"username": "admin", "password": ADMIN_PASSWORD}
    )
    assert login.status == 503
    assert (await login.json())["error"] == "temporarily_unavailable"
    page = await client.get("/login")
    assert page.status == 200  # the login form needs no database
    assert (await client.get("/health")).status == 200

    await proxy.start()
    assert (await client.get("/ready")).status == 200
    users = await client.get("/api/v1/users", headers=bearer(token))
    assert users.status == 200
