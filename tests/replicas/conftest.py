"""The replica suite's parts: our own PostgreSQL (restartable), three replicas behind nginx.

Figures each test measures are collected in ``figures`` and printed at the end of the run, so
the numbers can be quoted from any CI log.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.replicas.cluster import Nginx, PgInstance, Replica, until_ready

FIGURES: dict[str, dict[str, Any]] = {}


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        terminalreporter.section("replica suite figures")
        for name, values in FIGURES.items():
            shown = ", ".join(f"{k}={v}" for k, v in values.items())
            terminalreporter.write_line(f"{name}: {shown}")


@pytest.fixture(scope="session")
def pg_instance() -> Iterator[PgInstance]:
    """A PostgreSQL server of our own for the replica suite (never the shared one)."""
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        pytest.skip("nginx is not installed (scripts/ensure-services.sh installs it)")
    instance = PgInstance()
    try:
        try:
            instance.start()
        except (OSError, subprocess.CalledProcessError) as exc:
            pytest.skip(f"cannot run a PostgreSQL instance of our own: {exc}")
        yield instance
    finally:
        instance.stop()


@dataclass
class Cluster:
    pg: PgInstance
    replicas: list[Replica]
    nginx: Nginx
    http: aiohttp.ClientSession
    database_url: str

    @property
    def url(self) -> str:
        return self.nginx.url

    async def all_ready(self, within: float = 60.0) -> list[float]:
        return list(
            await asyncio.gather(*(until_ready(self.http, r.url, within) for r in self.replicas))
        )

    def logs(self) -> str:
        return "\n".join(f"--- {r.url}\n{r.log_text()[-3000:]}" for r in self.replicas)


@pytest.fixture
async def cluster(pg_instance: PgInstance, tmp_path: Path) -> AsyncIterator[Cluster]:
    """Three replicas started at the same moment on a fresh, empty database, behind nginx."""
    url = await pg_instance.fresh_database(f"replicas_{uuid.uuid4().hex[:8]}")
    replicas = [Replica(url, tmp_path) for _ in range(3)]
    nginx = Nginx(tmp_path / "nginx", replicas)
    connector = aiohttp.TCPConnector(limit=200)
    async with aiohttp.ClientSession(connector=connector) as http:
        try:
            for replica in replicas:
                replica.start()
            nginx.start()
            found = Cluster(pg_instance, replicas, nginx, http, url)
            try:
                await found.all_ready()
            except TimeoutError:
                pytest.fail(f"replicas did not become ready:\n{found.logs()}")
            yield found
        finally:
            nginx.stop()
            for replica in replicas:
                replica.stop()
