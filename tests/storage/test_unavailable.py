"""A database that cannot serve is StorageUnavailable (503), on real PostgreSQL and SQLite;
the connection it happened on is not used again."""

from __future__ import annotations

import logging
import sqlite3
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import asyncpg
import pytest
from asyncpg.exceptions import _base

from tests.conftest import PG_ADMIN_URL
from zenml_server.domain.errors import StorageUnavailable
from zenml_server.storage.pg_errors import is_unavailable
from zenml_server.storage.sqlite import SqliteDatabase
from zenml_server.storage.store import Store

_OUTAGE_ERRORS = [
    asyncpg.InternalClientError("cannot switch to state 15; another operation (2) is in progress"),
    asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
    asyncpg.TooManyConnectionsError("sorry, too many clients already"),
    asyncpg.CannotConnectNowError("the database system is starting up"),
    asyncpg.ReadOnlySQLTransactionError("cannot execute INSERT in a read-only transaction"),
    asyncpg.QueryCanceledError("canceling statement due to statement timeout"),
    asyncpg.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.CrashShutdownError("terminating connection because of crash of another process"),
    asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    ConnectionResetError(104, "Connection reset by peer"),
    TimeoutError(),
]
_BUGS = [
    asyncpg.UniqueViolationError("duplicate key"),
    asyncpg.PostgresSyntaxError("syntax error"),
    asyncpg.InFailedSQLTransactionError("current transaction is aborted"),
    asyncpg.DataError("invalid input syntax"),
    _base.DataError("invalid input for query argument $1"),
    RuntimeError("a bug"),
]


@pytest.mark.parametrize("exc", _OUTAGE_ERRORS, ids=lambda e: type(e).__name__)
def test_outage_errors_are_unavailable(exc: BaseException) -> None:
    """Every error a restart, failover or overload brings means 'unavailable, try again'."""
    assert is_unavailable(exc)


@pytest.mark.parametrize("exc", _BUGS, ids=lambda e: type(e).__name__)
def test_bugs_and_bad_input_are_not_unavailable(exc: BaseException) -> None:
    """Constraint, syntax and input errors are not mistaken for an outage."""
    assert not is_unavailable(exc)


@pytest.fixture
async def pg_store(postgres_url: str) -> AsyncIterator[Store]:
    store = await Store.open(postgres_url, pool_size=1)
    try:
        yield store
    finally:
        await store.close()


@pytest.mark.postgres
async def test_terminated_connection_is_unavailable_and_replaced(pg_store: Store) -> None:
    """A connection the server ends (AdminShutdown) is a 503 once; the next statement works."""
    before = await pg_store.db.fetchval("SELECT pg_backend_pid()")
    with pytest.raises(StorageUnavailable):
        await pg_store.db.fetchval("SELECT pg_terminate_backend(pg_backend_pid())")
    after = await pg_store.db.fetchval("SELECT pg_backend_pid()")
    assert after != before


@pytest.mark.postgres
async def test_cancelled_query_is_unavailable_and_its_connection_dropped(pg_store: Store) -> None:
    """A cancelled statement is StorageUnavailable and its connection is not handed out again."""
    before = await pg_store.db.fetchval("SELECT pg_backend_pid()")
    with pytest.raises(StorageUnavailable):
        async with pg_store.db.transaction() as conn:
            await conn.execute("SET LOCAL statement_timeout = 1")
            await conn.fetchval("SELECT pg_sleep(5)")
    after = await pg_store.db.fetchval("SELECT pg_backend_pid()")
    assert after != before


@pytest.mark.postgres
async def test_read_only_transaction_is_unavailable(pg_store: Store) -> None:
    """A write refused as read-only (a standby during failover) is StorageUnavailable."""
    with pytest.raises(StorageUnavailable):
        async with pg_store.db.transaction() as conn:
            await conn.execute("SET TRANSACTION READ ONLY")
            await conn.execute(
                "INSERT INTO server_settings (key, value) VALUES ('read_only_probe', 'x')"
            )
    assert await pg_store.db.fetchval("SELECT 1") == 1


@pytest.mark.postgres
async def test_too_many_connections_is_unavailable(postgres_url: str) -> None:
    """A server refusing connections (TooManyConnections) makes ping raise StorageUnavailable."""
    role = f"zenml_limited_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    await admin.execute(f'CREATE ROLE "{role}" LOGIN CONNECTION LIMIT 0')
    try:
        url = postgres_url.replace("postgres@", f"{role}@", 1)
        store = await Store.open(url, pool_size=1)
        try:
            with pytest.raises(StorageUnavailable):
                await store.db.ping()
        finally:
            await store.close()
    finally:
        await admin.execute(f'DROP ROLE "{role}"')
        await admin.close()


@pytest.mark.postgres
async def test_outage_logs_one_warning_and_one_info(
    pg_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """Many failed statements log one WARNING; the first success after logs one INFO with how
    long the database was gone."""
    with caplog.at_level(logging.INFO, logger="zenml_server.database"):
        for _ in range(5):
            with pytest.raises(StorageUnavailable):
                await pg_store.db.fetchval("SELECT pg_terminate_backend(pg_backend_pid())")
        for _ in range(3):
            await pg_store.db.ping()
    records = [r for r in caplog.records if r.name == "zenml_server.database"]
    assert [r.levelname for r in records] == ["WARNING", "INFO"]
    assert "not available" in records[0].getMessage()
    assert "back after" in records[1].getMessage() and " s" in records[1].getMessage()


async def _sqlite_pair(path: Path) -> SqliteDatabase:
    """A SqliteDatabase on a rollback-journal file (as on a file system without WAL), whose
    writer gives up on a lock after 50 ms instead of the usual seconds."""
    conns = []
    for _ in range(2):
        conn = await aiosqlite.connect(path, isolation_level=None)
        conn.row_factory = sqlite3.Row
        await conn.execute("PRAGMA journal_mode = DELETE")
        await conn.execute("PRAGMA busy_timeout = 50")
        conns.append(conn)
    return SqliteDatabase(conns[0], conns[1])


async def test_sqlite_failed_commit_rolls_back(tmp_path: Path) -> None:
    """A COMMIT refused because another connection holds a lock is StorageUnavailable and rolls
    back: the change is not kept and the next write works once the lock is gone."""
    path = tmp_path / "locked.sqlite"
    db = await _sqlite_pair(path)
    try:
        await db.execute("CREATE TABLE t (x INTEGER)")
        other = sqlite3.connect(path, isolation_level=None)
        try:
            other.execute("BEGIN")
            other.execute("SELECT count(*) FROM t").fetchall()  # holds a shared lock
            with pytest.raises(StorageUnavailable):
                async with db.transaction() as conn:
                    await conn.execute("INSERT INTO t VALUES (1)")
            other.execute("COMMIT")
        finally:
            other.close()
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO t VALUES (2)")
        assert [r[0] for r in await db.fetch("SELECT x FROM t")] == [2]
    finally:
        await db.close()
