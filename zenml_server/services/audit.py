"""The audit trail: the one service every other service calls to record a security event.

- ``record(conn, event)``: inside the transaction of the change it records, so a change
  without its row (or a row without its change) cannot exist.
- ``note(event)``: for events that change nothing else (logins, failed or not). They are
  buffered and written in one transaction per second by a background task, so a flood of
  failed logins costs the database one write a second, and nothing is ever written on the
  path of an authenticated GET. The buffer is capped; what does not fit is counted in an
  ``audit.dropped`` event.
- Housekeeping deletes rows older than ``ZENML_SERVER_AUDIT_RETENTION_DAYS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from zenml_server.domain.audit import AuditEvent, AuditQuery, Outcome, current_scope
from zenml_server.domain.clock import Clock
from zenml_server.domain.errors import StorageUnavailable
from zenml_server.services.housekeeping import Housekeeping
from zenml_server.storage.audit import AuditStore
from zenml_server.storage.db import Connection

log = logging.getLogger(__name__)
MAX_PENDING = 10_000
DAY = 86400.0


class Audit:
    def __init__(
        self, store: AuditStore, clock: Clock, housekeeping: Housekeeping, retention_days: int
    ) -> None:
        self._store = store
        self._clock = clock
        self._pending: list[AuditEvent] = []
        self._dropped = 0
        housekeeping.register(
            "audit_events", lambda: store.prune(clock.now() - retention_days * DAY)
        )

    def event(
        self,
        action: str,
        *,
        target: tuple[str, str | None, str | None] | None = None,
        outcome: Outcome = Outcome.SUCCESS,
        **detail: Any,
    ) -> AuditEvent:
        """An event by the current actor (request scope), about ``target`` (kind, id, name).
        ``detail`` must hold nothing secret."""
        scope = current_scope()
        kind, target_id, name = target if target is not None else (None, None, None)
        return AuditEvent(
            action=action,
            created=self._clock.now(),
            actor=scope.actor,
            outcome=outcome,
            target_kind=kind,
            target_id=target_id,
            target_name=name,
            client_ip=scope.client_ip,
            request_id=scope.request_id,
            detail=detail,
        )

    @staticmethod
    async def record(conn: Connection, event: AuditEvent) -> None:
        """Write ``event`` in the caller's transaction (the change it records)."""
        await AuditStore.record(conn, event)

    def note(self, event: AuditEvent) -> None:
        """Queue an event that changes nothing else; written within a second."""
        if len(self._pending) >= MAX_PENDING:
            self._dropped += 1
            return
        self._pending.append(event)

    async def flush(self) -> int:
        """Write what is queued; return how many events were written."""
        events, self._pending = self._pending, []
        if self._dropped:
            events.append(self.event("audit.dropped", outcome=Outcome.FAILURE, count=self._dropped))
            self._dropped = 0
        if not events:
            return 0
        try:
            await self._store.record_many(events)
        except StorageUnavailable:
            # Keep them for the next try (within the cap).
            self._pending = (events + self._pending)[:MAX_PENDING]
            return 0
        return len(events)

    async def run(self, interval: float = 1.0) -> None:
        """Run forever: flush queued events. Cancel to stop (what is queued is flushed)."""
        try:
            while True:
                await asyncio.sleep(interval)
                await self.flush()
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.flush())

    async def search(
        self, query: AuditQuery, *, after: tuple[float, str] | None, limit: int
    ) -> list[AuditEvent]:
        """Events matching ``query``, newest first (what is queued is written first)."""
        await self.flush()
        return await self._store.list(query, after=after, limit=limit)
