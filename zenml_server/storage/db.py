"""The seam between the stores and the two database engines.

Stores write one SQL text with ``$1, $2 …`` placeholders; each driver runs it on its engine
(SQLite rewrites them to ``?1, ?2 …``). Times are POSIX seconds in DOUBLE PRECISION columns,
ids are TEXT, booleans are BOOLEAN (SQLite hands back 0/1: read them with ``bool()``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Literal, Protocol

from zenml_server.storage.availability import Availability

Row = Mapping[str, Any]
Dialect = Literal["sqlite", "postgresql"]

# What ``Database.listen`` yields besides payloads (no NOTIFY payload can hold a NUL).
LISTEN_CONNECTED = ""  # (re)connected: changes made while not listening are unknown
LISTEN_ALIVE = "\x00alive"  # an idle connection passed its heartbeat
LISTEN_LOST = "\x00lost"  # the connection failed; reconnecting


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

    # Whether the database answered the last statement; logs when that changes.
    availability: Availability

    def transaction(self) -> AbstractAsyncContextManager[Connection]: ...

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raise StorageUnavailable unless the database answers now."""
        ...

    def pool_stats(self) -> tuple[int, int, int, int]:
        """(connections open, in use, callers waiting for one, most connections), from memory."""
        ...

    def listen(self, channel: str) -> AsyncIterator[str]:
        """Payloads notified on ``channel`` by any process, and the LISTEN_* markers above
        (PostgreSQL; never raises, reconnects by itself). SQLite yields nothing."""
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
