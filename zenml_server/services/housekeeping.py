"""Periodic sweeps, so that nothing grows without bound."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from zenml_server.domain.errors import StorageUnavailable

log = logging.getLogger(__name__)
Job = Callable[[], Awaitable[int]]


class Housekeeping:
    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}

    def register(self, name: str, job: Job) -> None:
        """``job()`` deletes what is stale and returns how many rows it removed."""
        self._jobs[name] = job

    async def sweep(self) -> dict[str, int]:
        """Run every job once; a job that cannot reach the database is skipped this time."""
        removed: dict[str, int] = {}
        for name, job in self._jobs.items():
            try:
                removed[name] = await job()
            except StorageUnavailable:
                removed[name] = 0
        return removed

    async def run(self, interval: float = 60.0) -> None:
        while True:
            await asyncio.sleep(interval)
            removed = await self.sweep()
            if any(removed.values()):
                log.info("housekeeping removed %s", removed)
