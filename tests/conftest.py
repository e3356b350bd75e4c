"""Shared fixtures: real SQLite and real PostgreSQL, an injected clock, real servers.

PostgreSQL: one fresh database per test run (``zenml_test_<random>``), dropped at the end;
tables are emptied between tests. With CI=true a missing PostgreSQL fails the run instead of
skipping its tests.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.builders import ADMIN_PASSWORD, make_settings
from zenml_server.domain.clock import ManualClock
from zenml_server.http.app import create_app
from zenml_server.settings import Settings
from zenml_server.storage.migrate import migrate
from zenml_server.storage.store import Store

PG_ADMIN_URL = os.environ.get(
    "ZENML_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

_TABLES = (
    "exchanged_subject_tokens",
    "trust_policies",
    "user_identities",
    "api_keys",
    "service_accounts",
    "devices",
    "web_sessions",
    "users",
    "server_settings",
    "credential_changes",
    "signing_keys",
    "revoked_tokens",
    "audit_events",
)


def _run(coro: Any) -> Any:
    """Run a coroutine to completion on its own loop, in a thread: callable from anywhere."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _pg_url(database: str) -> str:
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{database}"


async def _create_pg_database() -> str:
    name = f"zenml_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name


async def _drop_pg_database(name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The URL of a fresh PostgreSQL database for this run, migrated."""
    try:
        name = _run(_create_pg_database())
    except (OSError, asyncpg.PostgresError) as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI and did not answer: {exc}")
        pytest.skip(f"PostgreSQL not available: {exc}")
    url = _pg_url(name)

    async def _migrate() -> None:
        store = await Store.open(url, pool_size=1)
        try:
            await migrate(store.db, 0.0)
        finally:
            await store.close()

    _run(_migrate())
    try:
        yield url
    finally:
        _run(_drop_pg_database(name))


@pytest.fixture
async def empty_postgres_url(postgres_url: str) -> str:
    """The run's PostgreSQL database, emptied: for tests that start server processes on it."""
    store = await Store.open(postgres_url, pool_size=1)
    try:
        await _empty_pg(store)
    finally:
        await store.close()
    return postgres_url


async def _empty_pg(store: Store) -> None:
    await store.db.execute(f"TRUNCATE {', '.join(_TABLES)} RESTART IDENTITY CASCADE")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest) -> str:
    """Each test using this runs once per database engine."""
    return str(request.param)


@pytest.fixture
async def store(engine: str, request: pytest.FixtureRequest, tmp_path: Any) -> AsyncIterator[Store]:
    """A migrated, empty store on the engine under test."""
    if engine == "sqlite":
        opened = await Store.open(f"sqlite:///{tmp_path}/test.sqlite")
        await migrate(opened.db, 0.0)
    else:
        url = request.getfixturevalue("postgres_url")
        opened = await Store.open(url, pool_size=4)
        await _empty_pg(opened)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def settings() -> Settings:
    return make_settings()


AppFactory = Callable[..., Awaitable[TestClient[web.Request, web.Application]]]


@pytest.fixture
async def make_client(
    aiohttp_client: Any, store: Store, clock: ManualClock, settings: Settings
) -> AppFactory:
    """Start the real app on the test's store and clock; settings may be overridden."""

    async def factory(**overrides: Any) -> TestClient[web.Request, web.Application]:
        chosen = make_settings(**overrides) if overrides else settings
        app = create_app(chosen, store=store, clock=clock)
        client: TestClient[web.Request, web.Application] = await aiohttp_client(app)
        return client

    return factory


@pytest.fixture
async def client(make_client: AppFactory) -> TestClient[web.Request, web.Application]:
    """The app with default test settings, its admin already created."""
    return await make_client()


@pytest.fixture
async def admin_token(client: TestClient[web.Request, web.Application]) -> str:
    """A bearer token of the bootstrap admin."""
    resp = await client.post(
        "/api/v1/login", data={"username": "admin", "password": ADMIN_PASSWORD}
    )
    assert resp.status == 200, await resp.text()
    token: str = (await resp.json())["access_token"]
    return token


_MUST_RUN_IN_CI = ("postgres", "browser", "compat", "fuzz", "replicas")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """In CI a test that needs PostgreSQL, the browser or the real client may not skip."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if IN_CI and report.skipped and any(item.get_closest_marker(m) for m in _MUST_RUN_IN_CI):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where it must run: {report.longrepr}"
