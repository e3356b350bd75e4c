"""bench.seed: revoked tokens seeded through SQL are what a server starting on the database
loads (the benchmark's "100,000 revoked tokens on file" row depends on it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import seed
from tests.conftest import AppFactory
from zenml_server.domain.clock import ManualClock
from zenml_server.storage.store import Store

COUNT = 2_500


async def _gauge(client: object) -> float:
    resp = await client.get("/metrics")  # type: ignore[attr-defined]
    assert resp.status == 200
    for line in (await resp.text()).splitlines():
        if line.startswith("zenml_server_revoked_tokens "):
            return float(line.split()[1])
    raise AssertionError("zenml_server_revoked_tokens not in /metrics")


async def test_seeded_revoked_tokens_are_loaded_at_start(
    engine: str,
    store: Store,
    make_client: AppFactory,
    clock: ManualClock,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    """COUNT unexpired revocations seeded in bulk (executemany on SQLite, COPY on
    PostgreSQL), none of them a device, key or user: the server starting on the database
    holds exactly COUNT jtis, and the rows expire after the clock's now."""
    if engine == "sqlite":
        seed.seed_sqlite(f"{tmp_path}/test.sqlite", 0, 0, revoked_tokens=COUNT, now=clock.now())
    else:
        url = request.getfixturevalue("postgres_url")
        await seed.seed_postgres(url, 0, 0, revoked_tokens=COUNT, now=clock.now())
    assert len(await store.revoked_tokens.unexpired(clock.now())) == COUNT
    assert await store.users.count() == 0
    client = await make_client()
    assert await _gauge(client) == COUNT
