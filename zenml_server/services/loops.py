"""Background loops that never die silently, and how healthy each one is.

Each loop (the change-log poller, the LISTEN connection, the last-used flush, housekeeping)
runs under ``Loops``: whatever a round raises is logged once per run of failures, with its
traceback (a database outage is not: the database logs it once itself), the loop backs off and
carries on, and it logs when it works again. A loop that has not completed a round for
longer than its bound is *stale*: ``/ready`` answers 503 and ``/metrics`` shows its age.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from zenml_server.domain.clock import Clock
from zenml_server.domain.errors import StorageUnavailable
from zenml_server.storage.availability import Availability

log = logging.getLogger(__name__)
Round = Callable[[], Awaitable[object]]
Sleep = Callable[[float], Awaitable[None]]
# The longest a failing loop waits before trying again (less when the database comes back).
MAX_BACKOFF_SECONDS = 5.0


def _raise_if_cancelled() -> None:
    # A cancellation that arrives as an awaited call completes can be swallowed by a driver or
    # by Python 3.11's wait_for; a loop that never ends by itself must look for one.
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


@dataclass
class LoopState:
    bound: float
    last_good: float
    failures: int = 0
    # Whether this run of failures was logged (database outages are logged by the database).
    logged: bool = False


class Loops:
    def __init__(
        self, clock: Clock, availability: Availability, *, sleep: Sleep = asyncio.sleep
    ) -> None:
        self._clock = clock
        self._availability = availability
        self._sleep = sleep
        self.states: dict[str, LoopState] = {}

    def register(self, name: str, bound: float) -> None:
        """Track a loop; it counts as fresh from now (start-up grace)."""
        self.states[name] = LoopState(bound, self._clock.now())

    def good(self, name: str) -> None:
        """The loop completed a round."""
        state = self.states[name]
        state.last_good = self._clock.now()
        if state.failures:
            if state.logged:
                log.info(
                    "background loop %s works again after %d failed rounds", name, state.failures
                )
            state.failures = 0
            state.logged = False

    def failed(self, name: str, exc: BaseException) -> None:
        """A round failed; log the first failure of a run of them."""
        state = self.states[name]
        state.failures += 1
        if isinstance(exc, StorageUnavailable):
            log.debug("background loop %s waits for the database", name)
        elif not state.logged:
            state.logged = True
            log.error("background loop %s failed; retrying", name, exc_info=exc)

    def ages(self) -> dict[str, float]:
        """Seconds since each loop's last good round."""
        now = self._clock.now()
        return {name: max(0.0, now - s.last_good) for name, s in self.states.items()}

    def stale(self) -> list[str]:
        """Loops whose last good round is older than their bound."""
        now = self._clock.now()
        return [name for name, s in self.states.items() if now - s.last_good > s.bound]

    async def backoff(self, name: str, interval: float) -> None:
        """Wait after a failed round: longer each time, at most MAX_BACKOFF_SECONDS (or the
        interval when that is longer), and no longer than until the database is back."""
        failures = self.states[name].failures
        delay = min(interval * 2**failures, max(interval, MAX_BACKOFF_SECONDS))
        if self._availability.up:
            await self._sleep(delay)
        else:
            await self._availability.wait_back(delay)

    async def every(self, name: str, round_: Round, interval: float, bound: float) -> None:
        """Run ``round_`` now and then every ``interval`` seconds until cancelled."""
        self.register(name, bound)
        while True:
            _raise_if_cancelled()
            try:
                await round_()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.failed(name, exc)
                await self.backoff(name, interval)
                continue
            self.good(name)
            await self._sleep(interval)
