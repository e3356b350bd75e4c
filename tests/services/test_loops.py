"""Background loops log, back off and carry on whatever they catch; a stalled one is visible."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import pytest

from tests.conftest import PG_ADMIN_URL
from tests.openapi_check import checked
from zenml_server.domain.clock import ManualClock
from zenml_server.domain.errors import StorageUnavailable
from zenml_server.http.context import LAST_USED_FLUSH_BOUND
from zenml_server.http.keys import SERVICES
from zenml_server.services.loops import Loops
from zenml_server.services.revocation import CHANNEL, CredentialCache, Revocations
from zenml_server.storage.availability import Availability
from zenml_server.storage.store import Store


class _Stop(BaseException):
    """Ends a loop from inside its fake sleep."""


def _loops(clock: ManualClock, slept: list[float], rounds: int) -> Loops:
    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) >= rounds:
            raise _Stop

    return Loops(clock, Availability("test"), sleep=sleep)


def _round(outcomes: list[BaseException | None]) -> Callable[[], Any]:
    async def round_() -> None:
        outcome = outcomes.pop(0) if outcomes else None
        if outcome is not None:
            raise outcome

    return round_


async def test_failing_round_is_logged_once_backs_off_and_carries_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Any exception is logged once with its traceback, the wait doubles, the loop goes on and
    says when it works again."""
    slept: list[float] = []
    loops = _loops(ManualClock(), slept, rounds=5)
    outcomes: list[BaseException | None] = [RuntimeError("bug"), KeyError("x"), ValueError("y")]
    with caplog.at_level(logging.INFO, logger="zenml_server.services.loops"):
        with pytest.raises(_Stop):
            await loops.every("probe", _round(outcomes), 0.25, bound=10)
    assert slept == [0.5, 1.0, 2.0, 0.25, 0.25]
    records = [(r.levelname, r.exc_info is not None) for r in caplog.records]
    assert records == [("ERROR", True), ("INFO", False)]
    assert "works again after 3 failed rounds" in caplog.records[1].getMessage()


async def test_database_outage_in_a_loop_is_not_logged_per_round(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A loop waiting for the database logs nothing itself: the database logs the outage once."""
    slept: list[float] = []
    loops = _loops(ManualClock(), slept, rounds=4)
    outcomes: list[BaseException | None] = [StorageUnavailable("down")] * 3
    with caplog.at_level(logging.DEBUG - 1, logger="zenml_server.services.loops"):
        with pytest.raises(_Stop):
            await loops.every("probe", _round(outcomes), 1.0, bound=10)
    assert [r for r in caplog.records if r.levelno >= logging.INFO] == []
    assert slept == [2.0, 4.0, 5.0, 1.0]


async def test_loop_without_a_good_round_past_its_bound_is_stale() -> None:
    """A loop is stale once its last good round is older than its bound, fresh after one."""
    clock = ManualClock()
    loops = Loops(clock, Availability("test"))
    loops.register("probe", bound=10)
    clock.advance(10)
    assert loops.stale() == []
    clock.advance(0.5)
    assert loops.stale() == ["probe"]
    assert loops.ages() == {"probe": 10.5}
    loops.good("probe")
    assert loops.stale() == []


async def test_ready_is_503_while_a_loop_is_stalled(client: Any, clock: ManualClock) -> None:
    """/ready answers 503 with Retry-After, naming the loop, when one has not completed a round
    within its bound, though the database answers."""
    assert (await client.get("/ready")).status == 200
    clock.advance(LAST_USED_FLUSH_BOUND + 1)
    resp = await client.get("/ready")
    assert resp.status == 503
    assert resp.headers["Retry-After"] == "5"
    body = await checked(resp)
    assert body["status"] == "unavailable" and "last_used_flush" in body["detail"]
    loops = client.app[SERVICES].loops
    for name in list(loops.states):
        loops.good(name)
    assert (await client.get("/ready")).status == 200


async def test_poller_failure_drops_the_cache_and_starts_afresh(store: Store) -> None:
    """A failed poll round forgets every cached answer (changes may have been missed)."""
    cache = CredentialCache(60)
    revocations = Revocations(store.db, store.changes, cache)
    await revocations.poll_once()

    async def load() -> str:
        return "active"

    await cache.get("device:1", load)
    await store.close()
    with pytest.raises(Exception):  # noqa: B017 - whatever the closed store raises
        await revocations.poll_once()
    assert len(cache) == 0


async def _until(condition: Callable[[], bool]) -> None:
    """Wait for a background task to reach a state (bounded)."""
    async with asyncio.timeout(20):
        while True:
            if condition():
                return
            await asyncio.sleep(0.01)


@pytest.fixture
async def pg_store(postgres_url: str) -> AsyncIterator[Store]:
    store = await Store.open(postgres_url, pool_size=2)
    try:
        yield store
    finally:
        await store.close()


@pytest.mark.postgres
async def test_listen_connection_reconnects_by_itself(pg_store: Store) -> None:
    """When the server ends the LISTEN connection it reconnects and hears NOTIFYs again."""
    cache = CredentialCache(600)
    revocations = Revocations(pg_store.db, pg_store.changes, cache)
    loops = Loops(ManualClock(), pg_store.db.availability)
    task = asyncio.create_task(revocations.listen(loops, bound=30))
    try:
        await _until(lambda: revocations.listening)
        admin = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
        try:
            ended = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE query LIKE 'LISTEN %' AND pid <> pg_backend_pid()"
            )
        finally:
            await admin.close()
        assert ended >= 1
        await _until(lambda: not revocations.listening)
        await _until(lambda: revocations.listening)

        async def load() -> str:
            return "active"

        await cache.get("device:after", load)
        await pg_store.db.notify(CHANNEL, "device:after")
        await _until(lambda: len(cache) == 0)
        assert revocations.received["notify"] >= 1
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
