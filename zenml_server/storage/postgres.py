"""PostgreSQL through an asyncpg pool: the engine for teams and replicas."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Literal, TypeVar

import asyncpg

from zenml_server.domain.errors import StorageUnavailable
from zenml_server.storage.availability import Availability
from zenml_server.storage.db import (
    LISTEN_ALIVE,
    LISTEN_CONNECTED,
    LISTEN_LOST,
    Row,
    UniqueViolation,
)
from zenml_server.storage.pg_errors import is_unavailable

T = TypeVar("T")
log = logging.getLogger("zenml_server.database")

# How often an idle LISTEN connection is checked (a dead peer does not always reset the socket).
LISTEN_HEARTBEAT_SECONDS = 5.0
_LISTEN_MAX_BACKOFF = 2.0
# A graceful close waits for the server to acknowledge; a dead server never does.
_CLOSE_TIMEOUT_SECONDS = 5.0


async def _keep_session(conn: Any) -> None:
    """Reset nothing on release: pooled connections never carry session state (settings are
    only ever SET LOCAL, advisory locks are transaction-scoped, LISTEN has its own
    connection), so asyncpg's reset query would be a wasted round trip per statement.
    asyncpg still rolls back any transaction left open."""


def _raise_if_cancelled() -> None:
    # A cancellation that arrives as an awaited call completes can be lost inside asyncpg's
    # connect or Python 3.11's wait_for; a loop that retries forever must look for itself.
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def _terminate(conn: Any) -> None:
    """End a connection now; one the pool already took back (it closed) is left alone."""
    with contextlib.suppress(asyncpg.InterfaceError):
        conn.terminate()


def _reason(exc: BaseException) -> str:
    return f"postgresql: {type(exc).__name__}"


class _PgConnection:
    """Statements on one pooled connection. A statement that fails because the database is
    unavailable ends the connection (so the pool never hands it out again) and raises
    StorageUnavailable."""

    def __init__(self, conn: Any, availability: Availability) -> None:
        self._conn = conn
        self._availability = availability
        self.broken = False

    async def _guard(self, call: Callable[[], Awaitable[T]]) -> T:
        try:
            result = await call()
        except asyncpg.UniqueViolationError as exc:
            raise UniqueViolation(str(exc)) from None
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            self.broken = True
            _terminate(self._conn)
            self._availability.lost(_reason(exc))
            raise StorageUnavailable(_reason(exc)) from None
        if not self._availability.up:
            self._availability.answered()
        return result

    async def fetch(self, sql: str, *args: Any) -> Sequence[Row]:
        rows: Sequence[Row] = await self._guard(lambda: self._conn.fetch(sql, *args))
        return rows

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        row: Row | None = await self._guard(lambda: self._conn.fetchrow(sql, *args))
        return row

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._guard(lambda: self._conn.fetchval(sql, *args))

    async def execute(self, sql: str, *args: Any) -> int:
        status: str = await self._guard(lambda: self._conn.execute(sql, *args))
        last = status.rsplit(" ", 1)[-1]
        return int(last) if last.isdigit() else 0


class PostgresDatabase:
    """A connection pool on one PostgreSQL database."""

    dialect: Literal["postgresql"] = "postgresql"

    def __init__(self, pool: Any, dsn: str) -> None:
        self._pool = pool
        self._dsn = dsn
        self.availability = Availability("postgresql")
        self._waiting = 0

    @classmethod
    async def open(cls, dsn: str, *, pool_size: int = 10) -> PostgresDatabase:
        # The pool connects lazily (min_size=0) so a server can start, report 503 on
        # /ready and recover by itself while the database is still coming up.
        pool = await asyncpg.create_pool(
            dsn,
            min_size=0,
            max_size=pool_size,
            timeout=5,
            command_timeout=30,
            max_inactive_connection_lifetime=60,
            reset=_keep_session,
        )
        return cls(pool, dsn)

    async def close(self) -> None:
        """Close the pool gracefully, or at once when the database does not let it."""
        self.availability.closing()
        try:
            await asyncio.wait_for(self._pool.close(), _CLOSE_TIMEOUT_SECONDS)
        except TimeoutError:
            self._pool.terminate()

    async def ping(self) -> None:
        await self.fetchval("SELECT 1")

    def pool_stats(self) -> tuple[int, int, int, int]:
        """(connections open, in use, callers waiting for one, the pool's maximum)."""
        size = self._pool.get_size()
        in_use = size - self._pool.get_idle_size()
        return size, in_use, self._waiting, self._pool.get_max_size()

    @asynccontextmanager
    async def _acquire(self) -> AsyncIterator[_PgConnection]:
        self._waiting += 1
        try:
            conn = await self._pool.acquire(timeout=5)
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            self.availability.lost(_reason(exc))
            raise StorageUnavailable(_reason(exc)) from None
        finally:
            self._waiting -= 1
        try:
            yield _PgConnection(conn, self.availability)
        finally:
            try:
                await self._pool.release(conn)
            except Exception as exc:
                # Releasing runs a rollback when a transaction was left open; on a connection
                # the database dropped that fails, and the connection is discarded.
                if not is_unavailable(exc):
                    raise
                _terminate(conn)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_PgConnection]:
        async with self._acquire() as conn:
            tx = conn._conn.transaction()
            await conn._guard(tx.start)
            try:
                yield conn
            except BaseException:
                if not conn.broken:
                    with contextlib.suppress(Exception):
                        await tx.rollback()
                raise
            await conn._guard(tx.commit)

    async def fetch(self, sql: str, *args: Any) -> Sequence[Row]:
        async with self._acquire() as conn:
            return await conn.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        async with self._acquire() as conn:
            return await conn.fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        async with self._acquire() as conn:
            return await conn.fetchval(sql, *args)

    async def execute(self, sql: str, *args: Any) -> int:
        async with self._acquire() as conn:
            return await conn.execute(sql, *args)

    async def notify(self, channel: str, payload: str) -> None:
        await self.execute("SELECT pg_notify($1, $2)", channel, payload)

    async def listen(self, channel: str) -> AsyncIterator[str]:
        """Yield NOTIFY payloads on a connection of its own, reconnecting by itself.

        Yields LISTEN_CONNECTED after each (re)connect (changes made meanwhile are unknown),
        LISTEN_ALIVE when an idle connection passed its heartbeat, LISTEN_LOST when the
        connection failed. Never raises: failures are logged and retried with a backoff that
        ends as soon as the database is seen answering again.
        """
        queue: asyncio.Queue[str] = asyncio.Queue()

        def on_notify(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
            queue.put_nowait(payload)

        delay = 0.1
        while True:
            _raise_if_cancelled()
            conn: Any = None
            try:
                conn = await asyncpg.connect(self._dsn, timeout=5)
                conn.add_termination_listener(lambda _conn: queue.put_nowait(LISTEN_LOST))
                await conn.add_listener(channel, on_notify)
                self.availability.answered()
                delay = 0.1
                yield LISTEN_CONNECTED
                while True:
                    try:
                        payload = await asyncio.wait_for(queue.get(), LISTEN_HEARTBEAT_SECONDS)
                    except TimeoutError:
                        await conn.fetchval("SELECT 1", timeout=5)
                        yield LISTEN_ALIVE
                        continue
                    if payload == LISTEN_LOST:
                        raise ConnectionResetError("the LISTEN connection was closed")
                    yield payload
            except Exception as exc:
                if is_unavailable(exc):
                    self.availability.lost(_reason(exc))
                else:
                    log.warning("the LISTEN connection failed: %s", type(exc).__name__)
            finally:
                if conn is not None:
                    conn.terminate()
            yield LISTEN_LOST
            if self.availability.up:
                await asyncio.sleep(delay)
            else:
                await self.availability.wait_back(delay)
            delay = min(delay * 2, _LISTEN_MAX_BACKOFF)
