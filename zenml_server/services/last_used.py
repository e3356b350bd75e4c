"""``last_login`` (last used) without a database write per request.

Requests mark what they used in memory; a background task writes the marks in one batch
every ``interval`` seconds, so the stored value is at most that far behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from zenml_server.services.loops import Loops

log = logging.getLogger(__name__)
Flusher = Callable[[dict[str, float]], Awaitable[None]]


class LastUsed:
    def __init__(self) -> None:
        self._marks: dict[str, dict[str, float]] = {}
        self._flushers: dict[str, Flusher] = {}

    def register(self, kind: str, flusher: Flusher) -> None:
        """``flusher({id: timestamp})`` stores a batch of marks of ``kind``."""
        self._flushers[kind] = flusher
        self._marks.setdefault(kind, {})

    def mark(self, kind: str, entity_id: str, when: float) -> None:
        self._marks[kind][entity_id] = when

    def pending(self, kind: str) -> dict[str, float]:
        return dict(self._marks.get(kind, {}))

    async def flush(self) -> None:
        """Write every pending mark; marks that fail to write are kept for the next try, and
        the first failure is raised once every kind was tried."""
        failure: Exception | None = None
        for kind, flusher in self._flushers.items():
            batch = self._marks[kind]
            if not batch:
                continue
            self._marks[kind] = {}
            try:
                await flusher(batch)
            except Exception as exc:
                for key, when in batch.items():
                    self._marks[kind].setdefault(key, when)
                failure = failure or exc
        if failure is not None:
            raise failure

    async def run(self, loops: Loops, interval: float, bound: float) -> None:
        """Flush every ``interval`` seconds under ``loops`` until cancelled, then once more."""
        try:
            await loops.every("last_used_flush", self.flush, interval, bound)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.flush())
