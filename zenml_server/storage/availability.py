"""Whether the database answers, as this process last saw it.

Drivers call ``lost`` when a statement fails because the database is unavailable and
``answered`` when one succeeds; each change of state is logged once (a WARNING when the
database goes, an INFO with how long it was gone when it is back), never once per failed
request. Background loops wait on ``wait_back`` so they retry as soon as it returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

log = logging.getLogger("zenml_server.database")


class Availability:
    def __init__(self, name: str, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._name = name
        self._monotonic = monotonic
        # Assumed up until a statement says otherwise; read on the hot path, so a plain bool.
        self.up = True
        self._lost_at = 0.0
        self._closing = False
        self._back = asyncio.Event()
        self._back.set()

    def closing(self) -> None:
        """The process closes its connections: failures from now on are not an outage."""
        self._closing = True

    def lost(self, reason: str) -> None:
        """A statement failed because the database is unavailable."""
        if not self.up or self._closing:
            return
        self.up = False
        self._lost_at = self._monotonic()
        self._back.clear()
        log.warning(
            "the %s database is not available (%s); requests get 503 until it is back",
            self._name,
            reason,
        )

    def answered(self) -> None:
        """A statement succeeded."""
        if self.up:
            return
        self.up = True
        self._back.set()
        log.info(
            "the %s database is back after %.1f s", self._name, self._monotonic() - self._lost_at
        )

    async def wait_back(self, at_most: float) -> None:
        """Return when the database is back, or after ``at_most`` seconds."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._back.wait(), at_most)
