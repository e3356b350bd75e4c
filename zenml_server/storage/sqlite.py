"""SQLite through aiosqlite: the embedded engine for one machine.

WAL mode with a busy timeout; one writer connection (writes are serialised by SQLite anyway,
and an asyncio lock keeps one coroutine's transaction from interleaving with another's) and
one reader connection for plain SELECTs, which WAL lets run beside a write.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal, cast

import aiosqlite

from zenml_server.domain.errors import StorageUnavailable
from zenml_server.storage.availability import Availability
from zenml_server.storage.db import Row, UniqueViolation

_PLACEHOLDER = re.compile(r"\$(\d+)")
_BUSY_TIMEOUT_MS = 5000
# Operational errors that mean "try again later"; any other (a syntax error) is a bug.
_UNAVAILABLE = ("locked", "busy", "unable to open", "disk I/O", "readonly", "full")


def _translate(sql: str, cache: dict[str, str] = {}) -> str:  # noqa: B006 - a deliberate memo
    out = cache.get(sql)
    if out is None:
        out = cache[sql] = _PLACEHOLDER.sub(r"?\1", sql)
    return out


def _convert(exc: Exception) -> Exception:
    if isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" in str(exc):
        return UniqueViolation(str(exc))
    if isinstance(exc, sqlite3.OperationalError) and any(word in str(exc) for word in _UNAVAILABLE):
        return StorageUnavailable(f"sqlite: {exc}")
    return exc


class _SqliteConnection:
    """Each call is one hop to the connection's thread (no separate fetch or close hops)."""

    def __init__(self, conn: aiosqlite.Connection, availability: Availability) -> None:
        self._conn = conn
        self._availability = availability

    def _failed(self, exc: sqlite3.Error) -> Exception:
        converted = _convert(exc)
        if isinstance(converted, StorageUnavailable):
            self._availability.lost(converted.message)
        return converted

    async def fetch(self, sql: str, *args: Any) -> Sequence[Row]:
        try:
            rows = await self._conn.execute_fetchall(_translate(sql), args)
        except sqlite3.Error as exc:
            raise self._failed(exc) from None
        if not self._availability.up:
            self._availability.answered()
        return cast(list[Row], rows)

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        rows = await self.fetch(sql, *args)
        return rows[0] if rows else None

    async def fetchval(self, sql: str, *args: Any) -> Any:
        row = await self.fetchrow(sql, *args)
        return None if row is None else row[0]  # type: ignore[index]

    async def execute(self, sql: str, *args: Any) -> int:
        try:
            # The cursor of a finished statement holds nothing open; closing it would cost a
            # hop of its own, so it is left to the garbage collector.
            cursor = await self._conn.execute(_translate(sql), args)
        except sqlite3.Error as exc:
            raise self._failed(exc) from None
        if not self._availability.up:
            self._availability.answered()
        return cursor.rowcount


class SqliteDatabase:
    """A database file opened for one process."""

    dialect: Literal["sqlite"] = "sqlite"

    def __init__(self, writer: aiosqlite.Connection, reader: aiosqlite.Connection) -> None:
        self.availability = Availability("sqlite")
        self._writer = _SqliteConnection(writer, self.availability)
        self._reader = _SqliteConnection(reader, self.availability)
        self._raw = (writer, reader)
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: str) -> SqliteDatabase:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        _create_private(path)
        conns = []
        try:
            for _ in range(2):
                conn = await aiosqlite.connect(path, isolation_level=None)
                conns.append(conn)
                conn.row_factory = sqlite3.Row
                await conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
                await conn.execute("PRAGMA foreign_keys = ON")
                await conn.execute("PRAGMA journal_mode = WAL")
                await conn.execute("PRAGMA synchronous = NORMAL")
        except (sqlite3.Error, OSError) as exc:
            for conn in conns:
                await conn.close()
            raise StorageUnavailable(f"sqlite: cannot open {path}: {exc}") from None
        return cls(conns[0], conns[1])

    async def close(self) -> None:
        self.availability.closing()
        for conn in self._raw:
            await conn.close()

    def pool_stats(self) -> tuple[int, int, int, int]:
        """(connections open, writer in use, writers waiting, connections): one writer, one
        reader."""
        waiting = len(getattr(self._write_lock, "_waiters", None) or ())
        return 2, int(self._write_lock.locked()), waiting, 2

    async def ping(self) -> None:
        await self._reader.fetchval("SELECT 1")

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_SqliteConnection]:
        async with self._write_lock:
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
                # A COMMIT that fails (another connection holds a lock past the busy
                # timeout, a full disk) leaves the transaction open: it is rolled back
                # below, or every later BEGIN on this connection would fail.
                await self._writer.execute("COMMIT")
            except BaseException:
                await self._rollback()
                raise

    async def _rollback(self) -> None:
        # Fails harmlessly when SQLite already ended the transaction itself.
        with contextlib.suppress(sqlite3.Error, StorageUnavailable):
            await asyncio.shield(self._raw[0].execute("ROLLBACK"))

    # A single statement outside ``transaction()`` runs in SQLite's autocommit mode: atomic
    # on its own, one thread hop instead of three (BEGIN, statement, COMMIT). The write lock
    # still keeps it out of another coroutine's open transaction on the same connection.

    async def fetch(self, sql: str, *args: Any) -> Sequence[Row]:
        if _is_read(sql):
            return await self._reader.fetch(sql, *args)
        async with self._write_lock:
            return await self._writer.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        if _is_read(sql):
            return await self._reader.fetchrow(sql, *args)
        async with self._write_lock:
            return await self._writer.fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        row = await self.fetchrow(sql, *args)
        return None if row is None else row[0]  # type: ignore[index]

    async def execute(self, sql: str, *args: Any) -> int:
        async with self._write_lock:
            return await self._writer.execute(sql, *args)

    async def listen(self, channel: str) -> AsyncIterator[str]:
        # SQLite has no notifications; other processes learn of changes from the
        # change log that services poll (see services/revocation.py).
        await asyncio.Event().wait()
        yield ""  # pragma: no cover - never reached

    async def notify(self, channel: str, payload: str) -> None:
        return None


def _is_read(sql: str) -> bool:
    return sql.lstrip()[:6].upper() == "SELECT"


def _create_private(path: str) -> None:
    """Create the database file readable by its owner only (0600) when it does not exist yet.

    It holds password hashes and digests. SQLite gives the ``-wal`` and ``-shm`` files it
    makes the mode of the database file, so they are 0600 too. An existing file is left as
    its owner set it.
    """
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    except OSError:
        return  # sqlite3 reports the real problem (a missing directory, no permission)
    os.close(fd)
