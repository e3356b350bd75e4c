"""Three replicas on one PostgreSQL database behind nginx, through kills and restarts.

Each test starts its own cluster on a fresh database of our own PostgreSQL instance and prints
its figures at the end of the run ("replica suite figures").
"""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from tests.replicas.cluster import status_of, until_ready
from tests.replicas.conftest import FIGURES, Cluster
from tests.replicas.load import (
    Flows,
    Ledger,
    admin_token,
    approved_devices_lost,
    lock_reaches_replicas,
    percentile,
    run_load,
)

pytestmark = pytest.mark.replicas

LOAD_CLIENTS = 20
LOAD_SECONDS = 12.0
DISRUPT_AFTER = 3.0
LOCK_TRIALS = 20


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


async def test_replicas_started_together_migrate_once_and_make_one_admin(
    cluster: Cluster,
) -> None:
    """Three replicas started at once on an empty database: every migration applied once, one
    admin, all ready."""
    conn = await asyncpg.connect(cluster.database_url, timeout=10)
    try:
        versions = [r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")]
        users = await conn.fetchval("SELECT count(*) FROM users")
    finally:
        await conn.close()
    assert len(versions) == len(set(versions)) and versions
    assert users == 1
    logs = [r.log_text() for r in cluster.replicas]
    assert sum("applied migrations" in log for log in logs) == 1, cluster.logs()
    assert sum("Created the admin user" in log for log in logs) == 1, cluster.logs()
    assert all("Traceback" not in log for log in logs), cluster.logs()


async def test_device_flows_through_nginx_issue_exactly_one_token_each(cluster: Cluster) -> None:
    """50 device logins, 10 at a time, each polled 10 times at once after approval: exactly one
    token per login."""
    admin = await admin_token(cluster.http, cluster.url)
    ledger = Ledger()
    flows = Flows(cluster.http, cluster.url, admin, ledger, allow_503=False)
    gate = asyncio.Semaphore(10)

    async def one() -> None:
        async with gate:
            await flows.one(polls=10)

    await asyncio.gather(*(one() for _ in range(50)))
    FIGURES["device flows (50, 10 at a time, 10 polls each)"] = ledger.summary()
    assert ledger.wrong == []
    assert ledger.flows == 50
    assert sorted(set(ledger.tokens.values())) == [1]


async def test_lock_through_one_replica_is_refused_by_the_others(cluster: Cluster) -> None:
    """A device locked through one replica is refused by the two others within a second."""
    a, *others = (r.url for r in cluster.replicas)
    admin = await admin_token(cluster.http, a)
    times = await lock_reaches_replicas(cluster.http, a, others, admin, LOCK_TRIALS)
    FIGURES["lock across replicas"] = {
        "samples": len(times),
        "p50_ms": _ms(percentile(times, 50)),
        "p99_ms": _ms(percentile(times, 99)),
    }
    assert max(times) < 1.0


async def test_sigkill_under_load_loses_nothing(cluster: Cluster) -> None:
    """SIGKILL of a replica under load: every answer right, no approved device lost, no token
    issued twice, and the restarted replica rejoins."""
    admin = await admin_token(cluster.http, cluster.url)
    ledger = Ledger()
    flows = Flows(cluster.http, cluster.url, admin, ledger, allow_503=False)
    victim = cluster.replicas[1]
    load = asyncio.create_task(run_load(flows, LOAD_CLIENTS, LOAD_SECONDS))
    await asyncio.sleep(DISRUPT_AFTER)
    await asyncio.to_thread(victim.kill)
    await asyncio.sleep(1.0)
    victim.start()
    rejoined = await until_ready(cluster.http, victim.url)
    await load
    lost = await approved_devices_lost(cluster.http, cluster.url, admin, ledger)
    FIGURES["SIGKILL under load"] = {
        **ledger.summary(),
        "kills": 1,
        "lost": len(lost),
        "rejoined_s": round(rejoined, 2),
    }
    assert ledger.wrong == []
    assert ledger.statuses[500] == 0
    assert lost == []
    assert ledger.doubled == 0
    assert ledger.flows > 0
    assert await status_of(cluster.http, victim.url + "/ready") == 200


async def test_sigterm_under_load_fails_no_request(cluster: Cluster) -> None:
    """SIGTERM of a replica under load: no request fails and the replica exits 0."""
    admin = await admin_token(cluster.http, cluster.url)
    ledger = Ledger()
    flows = Flows(cluster.http, cluster.url, admin, ledger, allow_503=False)
    victim = cluster.replicas[2]
    load = asyncio.create_task(run_load(flows, LOAD_CLIENTS, LOAD_SECONDS))
    await asyncio.sleep(DISRUPT_AFTER)
    victim.terminate()
    code = await victim.exit_code()
    await load
    FIGURES["SIGTERM under load"] = {**ledger.summary(), "exit_code": code}
    assert code == 0, victim.log_text()[-3000:]
    assert ledger.wrong == []
    assert ledger.transport_failures == 0
    assert ledger.statuses[500] == 0 and ledger.statuses[503] == 0
    assert ledger.doubled == 0


async def test_postgres_restart_under_load_gives_503_never_500(cluster: Cluster) -> None:
    """A PostgreSQL restart under load: only 503s, never a 500; every replica is ready again by
    itself; a lock made after the restart reaches every replica within a second."""
    admin = await admin_token(cluster.http, cluster.url)
    ledger = Ledger()
    flows = Flows(cluster.http, cluster.url, admin, ledger, allow_503=True)
    load = asyncio.create_task(run_load(flows, LOAD_CLIENTS, LOAD_SECONDS))
    await asyncio.sleep(DISRUPT_AFTER)
    await asyncio.to_thread(cluster.pg.restart)
    await load
    back = await cluster.all_ready(within=60)
    a, *others = (r.url for r in cluster.replicas)
    times = await lock_reaches_replicas(cluster.http, a, others, admin, LOCK_TRIALS)
    lost = await approved_devices_lost(cluster.http, cluster.url, admin, ledger)
    FIGURES["PostgreSQL restart under load"] = {
        **ledger.summary(),
        "restarts": 1,
        "lost": len(lost),
        "ready_again_s": round(max(back), 2),
        "lock_after_restart_p50_ms": _ms(percentile(times, 50)),
        "lock_after_restart_p99_ms": _ms(percentile(times, 99)),
    }
    assert ledger.statuses[500] == 0, ledger.wrong
    assert ledger.wrong == []
    assert ledger.doubled == 0
    assert lost == []
    assert max(times) < 1.0
    logs = [r.log_text() for r in cluster.replicas]
    assert all("Traceback" not in log for log in logs), cluster.logs()
