"""Per-process cache of credential state, dropped as soon as the credential changes.

Every authenticated request must know that its device, key, account or user is still
active, without a database round trip when nothing changed. Answers are cached here per
entity (``user:<id>``, ``device:<id>``, ``api_key:<id>``, ``service_account:<id>``) and
forgotten:
- at once in the process that made a change (``Revocations.announce``);
- in every other process through PostgreSQL NOTIFY, and through the ``credential_changes``
  log polled a few times a second (the only path on SQLite, and the safety net on PostgreSQL);
- after a short TTL in any case.

Other per-process state kept current by the same log (signing keys, revoked ``jti``s)
registers a watcher: it hears every entity applied, and resyncs after a database outage
(when changes may have been missed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from zenml_server.domain.errors import StorageUnavailable
from zenml_server.storage.changes import ChangeLog
from zenml_server.storage.db import Connection, Database

log = logging.getLogger(__name__)
T = TypeVar("T")
Watcher = Callable[[str], None]
Resync = Callable[[], Awaitable[None]]
CHANNEL = "zenml_credentials"
_MAX_ENTRIES = 200_000


class CredentialCache:
    def __init__(self, ttl: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._monotonic = monotonic
        self._entries: dict[str, tuple[Any, float]] = {}
        # Moves on at every invalidation, so a load that raced with one is not stored.
        self._epoch = 0

    async def get(self, entity: str, load: Callable[[], Awaitable[T]]) -> T:
        """The cached answer for ``entity``, or ``load()``'s (then cached)."""
        hit = self._entries.get(entity)
        now = self._monotonic()
        if hit is not None and now - hit[1] < self._ttl:
            value: T = hit[0]
            return value
        epoch = self._epoch
        fresh = await load()
        if epoch == self._epoch:
            if len(self._entries) >= _MAX_ENTRIES:
                self._entries.clear()
            self._entries[entity] = (fresh, now)
        return fresh

    def invalidate(self, entity: str) -> None:
        self._epoch += 1
        self._entries.pop(entity, None)

    def clear(self) -> None:
        self._epoch += 1
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


class Revocations:
    """How services announce a credential change to every process."""

    def __init__(self, db: Database, changes: ChangeLog, cache: CredentialCache) -> None:
        self._db = db
        self._changes = changes
        self.cache = cache
        self._watchers: list[Watcher] = []
        self._resyncs: list[Resync] = []

    def watch(self, watcher: Watcher, resync: Resync | None = None) -> None:
        """Call ``watcher(entity)`` for every change applied in this process, and
        ``resync()`` once the database answers again after an outage."""
        self._watchers.append(watcher)
        if resync is not None:
            self._resyncs.append(resync)

    def _apply(self, entity: str) -> None:
        self.cache.invalidate(entity)
        for watcher in self._watchers:
            watcher(entity)

    @staticmethod
    async def record(conn: Connection, entity: str, now: float) -> None:
        """Log the change inside the transaction that makes it."""
        await ChangeLog.record(conn, entity, now)

    async def announce(self, *entities: str) -> None:
        """After commit: forget the entities here and tell other processes at once."""
        for entity in entities:
            self._apply(entity)
        with contextlib.suppress(StorageUnavailable):
            for entity in entities:
                await self._db.notify(CHANNEL, entity)

    async def poll_changes(self, interval: float = 0.25) -> None:
        """Run forever: apply changes other processes logged. Cancel to stop."""
        cursor: int | None = None
        missed = False
        while True:
            try:
                if cursor is None:
                    cursor = await self._changes.latest()
                    if missed:
                        for resync in self._resyncs:
                            await resync()
                        missed = False
                for change_id, entity in await self._changes.since(cursor):
                    self._apply(entity)
                    cursor = change_id
            except StorageUnavailable:
                # While the database is away nothing cached can be trusted for long.
                self.cache.clear()
                cursor = None
                missed = True
            await asyncio.sleep(interval)

    async def listen(self) -> None:
        """Run forever on PostgreSQL: apply NOTIFYs from other processes. Cancel to stop."""
        async for entity in self._db.listen(CHANNEL):
            if entity:
                self._apply(entity)
            else:
                self.cache.clear()
