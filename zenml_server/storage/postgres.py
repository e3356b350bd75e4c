"""PostgreSQL through an asyncpg pool: the engine for teams and replicas."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Literal, TypeVar

import asyncpg

from zenml_server.domain.errors import StorageUnavailable
from zenml_server.storage.db import Row, UniqueViolation

T = TypeVar("T")

_CONNECTION_ERRORS = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
)


async def _guard(call: Callable[[], Awaitable[T]]) -> T:
    try:
        return await call()
    except asyncpg.UniqueViolationError as exc:
        raise UniqueViolation(str(exc)) from None
    except _CONNECTION_ERRORS as exc:
        raise StorageUnavailable(f"postgresql: {type(exc).__name__}") from None


async def _keep_session(conn: Any) -> None:
    """Reset nothing on release: pooled connections never carry session state (settings are
    only ever SET LOCAL, advisory locks are transaction-scoped, LISTEN has its own
    connection), so asyncpg's reset query would be a wasted round trip per statement.
    asyncpg still rolls back any transaction left open."""


class _PgConnection:
    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def fetch(self, sql: str, *args: Any) -> Sequence[Row]:
        rows: Sequence[Row] = await _guard(lambda: self._conn.fetch(sql, *args))
        return rows

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        row: Row | None = await _guard(lambda: self._conn.fetchrow(sql, *args))
        return row

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await _guard(lambda: self._conn.fetchval(sql, *args))

    async def execute(self, sql: str, *args: Any) -> int:
        status: str = await _guard(lambda: self._conn.execute(sql, *args))
        last = status.rsplit(" ", 1)[-1]
        return int(last) if last.isdigit() else 0


class PostgresDatabase:
    """A connection pool on one PostgreSQL database."""

    dialect: Literal["postgresql"] = "postgresql"

    def __init__(self, pool: Any, dsn: str) -> None:
        self._pool = pool
        self._dsn = dsn

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
        await self._pool.close()

    async def ping(self) -> None:
        await self.fetchval("SELECT 1")

    @asynccontextmanager
    async def _acquire(self) -> AsyncIterator[Any]:
        try:
            conn_cm = self._pool.acquire(timeout=5)
            conn = await conn_cm.__aenter__()
        except _CONNECTION_ERRORS as exc:
            raise StorageUnavailable(f"postgresql: {type(exc).__name__}") from None
        try:
            yield conn
        finally:
            try:
                await conn_cm.__aexit__(None, None, None)
            except _CONNECTION_ERRORS:
                pass

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_PgConnection]:
        async with self._acquire() as conn:
            tx = conn.transaction()
            await _guard(tx.start)
            try:
                yield _PgConnection(conn)
            except BaseException:
                try:
                    await tx.rollback()
                except _CONNECTION_ERRORS:
                    pass
                raise
            await _guard(tx.commit)

    async def fetch(self, sql: str, *args: Any) -> Sequence[Row]:
        async with self._acquire() as conn:
            return await _PgConnection(conn).fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        async with self._acquire() as conn:
            return await _PgConnection(conn).fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        async with self._acquire() as conn:
            return await _PgConnection(conn).fetchval(sql, *args)

    async def execute(self, sql: str, *args: Any) -> int:
        async with self._acquire() as conn:
            return await _PgConnection(conn).execute(sql, *args)

    async def notify(self, channel: str, payload: str) -> None:
        await self.execute("SELECT pg_notify($1, $2)", channel, payload)

    async def listen(self, channel: str) -> AsyncIterator[str]:
        """Yield NOTIFY payloads; reconnects when the connection drops."""
        queue: asyncio.Queue[str] = asyncio.Queue()

        def on_notify(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
            queue.put_nowait(payload)

        while True:
            try:
                conn = await asyncpg.connect(self._dsn, timeout=5)
            except _CONNECTION_ERRORS:
                await asyncio.sleep(1)
                continue
            try:
                await conn.add_listener(channel, on_notify)
                # An empty payload tells the listener to drop its whole cache: changes
                # made while it was not listening are unknown.
                yield ""
                while not conn.is_closed():
                    try:
                        yield await asyncio.wait_for(queue.get(), timeout=5)
                    except TimeoutError:
                        continue
            finally:
                if not conn.is_closed():
                    await conn.close()
