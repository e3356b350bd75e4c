"""The seam between the stores and the two database engines.

Stores write one SQL text with ``$1, $2 …`` placeholders; each driver runs it on its engine
(SQLite rewrites them to ``?1, ?2 …``). Times are POSIX seconds in DOUBLE PRECISION columns,
ids are TEXT, booleans are BOOLEAN (SQLite hands back 0/1: read them with ``bool()``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Literal, Protocol

Row = Mapping[str, Any]
Dialect = Literal["sqlite", "postgresql"]


class Connection(Protocol):
    """Statements on one connection (inside a transaction when it came from one)."""

    async def fetch(self, sql: str, *args: Any) -> Sequence[Row]:
        """All rows of a query."""
        ...

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        """The first row of a query, or None when it returns none."""
        ...

    async def fetchval(self, sql: str, *args: Any) -> Any:
        """The first column of the first row, or None when there is no row."""
        ...

    async def execute(self, sql: str, *args: Any) -> int:
        """Run a statement; return the number of rows it changed."""
        ...


class Database(Connection, Protocol):
    """A pool of connections to one database.

    Statements called on the database itself each run in their own transaction.
    ``transaction()`` yields a connection whose statements commit together or not at all;
    on SQLite it is an immediate (write-locking) transaction.
    """

    @property
    def dialect(self) -> Dialect: ...

    def transaction(self) -> AbstractAsyncContextManager[Connection]: ...

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raise StorageUnavailable unless the database answers now."""
        ...

    def listen(self, channel: str) -> AsyncIterator[str]:
        """Payloads notified on ``channel`` by any process (PostgreSQL); SQLite yields none."""
        ...

    async def notify(self, channel: str, payload: str) -> None:
        """Tell every listening process (PostgreSQL NOTIFY; nothing on SQLite)."""
        ...


async def open_database(url: str, *, pool_size: int = 10) -> Database:
    """Open the database named by a ``sqlite:///`` or ``postgresql://`` URL."""
    if url.startswith("sqlite:///"):
        from zenml_server.storage.sqlite import SqliteDatabase

        return await SqliteDatabase.open(url[len("sqlite:///") :])
    from zenml_server.storage.postgres import PostgresDatabase

    return await PostgresDatabase.open(url, pool_size=pool_size)


class UniqueViolation(Exception):
    """A statement broke a unique constraint (both drivers raise this one class)."""
