"""Periodic sweeps, so that nothing grows without bound."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from zenml_server.services.loops import Loops

log = logging.getLogger(__name__)
Job = Callable[[], Awaitable[int]]


class Housekeeping:
    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}

    def register(self, name: str, job: Job) -> None:
        """``job()`` deletes what is stale and returns how many rows it removed."""
        self._jobs[name] = job

    async def sweep(self) -> dict[str, int]:
        """Run every job once; a job that fails removes nothing this time, the others still
        run, and the first failure is raised at the end."""
        removed: dict[str, int] = {}
        failure: Exception | None = None
        for name, job in self._jobs.items():
            try:
                removed[name] = await job()
            except Exception as exc:
                removed[name] = 0
                failure = failure or exc
        if failure is not None:
            raise failure
        return removed

    async def run_once(self) -> None:
        removed = await self.sweep()
        if any(removed.values()):
            log.info("housekeeping removed %s", removed)

    async def run(self, loops: Loops, interval: float, bound: float) -> None:
        """Sweep every ``interval`` seconds under ``loops`` until cancelled."""
        await loops.every("housekeeping", self.run_once, interval, bound)
