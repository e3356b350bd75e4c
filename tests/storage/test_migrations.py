"""Migrations: numbered, recorded, applied once, safe with data and with racing replicas."""

from __future__ import annotations

import asyncio

import pytest

from zenml_server.storage.migrate import available, migrate, pending, statements
from zenml_server.storage.store import Store


async def test_fresh_store_is_fully_migrated(store: Store) -> None:
    """After start-up migration nothing is pending and a second run applies nothing."""
    assert await pending(store.db) == []
    assert await migrate(store.db, 1.0) == []


async def test_migrations_are_numbered_without_gaps(engine: str) -> None:
    """Each engine sees migrations from 1, in increasing order, each number once (numbers are
    handed out to parallel branches in blocks, so gaps between blocks are fine)."""
    versions = [m.version for m in available(engine)]
    assert versions[0] == 1
    assert versions == sorted(set(versions))


async def test_migrating_keeps_existing_data(tmp_path: object) -> None:
    """A database holding data at an older version keeps it when migrated forward."""
    store = await Store.open(f"sqlite:///{tmp_path}/old.sqlite")
    try:
        async with store.db.transaction() as conn:
            await conn.execute(
                "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY,"
                " name TEXT NOT NULL, applied DOUBLE PRECISION NOT NULL)"
            )
            first = available("sqlite")[0]
            for statement in statements(first.sql):
                await conn.execute(statement)
            await conn.execute(
                "INSERT INTO schema_migrations VALUES (1, 'initial', 0)",
            )
        await store.users.create("kept", None, is_admin=False, active=True, now=1.0)
        applied = await migrate(store.db, 2.0)
        assert applied == [m.version for m in available("sqlite")][1:]
        user = await store.users.get_by_name("kept")
        assert user is not None and user.name == "kept"
    finally:
        await store.close()


@pytest.mark.postgres
async def test_replicas_starting_together_apply_each_migration_once(postgres_url: str) -> None:
    """Several processes migrating one fresh PostgreSQL at once: each migration applied once."""
    import asyncpg

    from tests.conftest import PG_ADMIN_URL, _pg_url

    name = "zenml_race_" + __import__("uuid").uuid4().hex[:8]
    admin = await asyncpg.connect(PG_ADMIN_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    stores = [await Store.open(_pg_url(name), pool_size=2) for _ in range(4)]
    try:
        results = await asyncio.gather(*(migrate(s.db, 1.0) for s in stores))
        applied = sorted(v for result in results for v in result)
        assert applied == [m.version for m in available("postgresql")]
        count = await stores[0].db.fetchval("SELECT count(*) FROM schema_migrations")
        assert count == len(available("postgresql"))
    finally:
        for s in stores:
            await s.close()
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()
