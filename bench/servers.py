"""Server processes under test (ours and the references), their databases and /proc figures."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg

ADMIN_PASSWORD = "bench-admin-password-0123456789"
JWT_SECRET = "bench-jwt-secret-0123456789abcdefghijklmnopqrstuvwxyz"
POSTGRES_ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
START_TIMEOUT = 30.0
_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    startup_seconds: float

    def cpu_seconds(self) -> float:
        """utime + stime of the whole process (every thread), from /proc/<pid>/stat."""
        stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS

    def memory_mb(self) -> dict[str, float]:
        """VmRSS and VmHWM (peak RSS) in MB, from /proc/<pid>/status."""
        found: dict[str, float] = {}
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found[key] = int(value.split()[0]) / 1024
        return found

    def metrics(self) -> dict[str, float]:
        """GET /metrics, as ``{'name{labels}': value}`` (our server only)."""
        with urllib.request.urlopen(self.url + "/metrics", timeout=10) as r:  # noqa: S310
            text = r.read().decode()
        samples: dict[str, float] = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                samples[name] = float(value)
        return samples

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _wait_healthy(server: Server, path: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            tail = server.log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{server.name} exited at start-up:\n{tail}")
        try:
            with urllib.request.urlopen(server.url + path, timeout=1):  # noqa: S310 - loopback
                return
        except OSError:
            time.sleep(0.005)
    server.stop()
    raise RuntimeError(f"{server.name} did not answer {path} within {START_TIMEOUT} s")


def _spawn(name: str, cmd: list[str], env: dict[str, str], log_dir: Path, port: int) -> Server:
    log = log_dir / f"{name}-{port}.log"
    started = time.perf_counter()
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(name, f"http://127.0.0.1:{port}", process, log, 0.0)
    _wait_healthy(server, "/health")
    server.startup_seconds = time.perf_counter() - started
    return server


def server_env(database_url: str, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZENML_SERVER_")}
    env.update(
        ZENML_SERVER_DATABASE_URL=database_url,
        ZENML_SERVER_ADMIN_PASSWORD=ADMIN_PASSWORD,
        ZENML_SERVER_JWT_SECRET_KEY=JWT_SECRET,
        ZENML_SERVER_LOG_LEVEL="WARNING",
    )
    env.update({f"ZENML_SERVER_{k.upper()}": v for k, v in settings.items()})
    return env


def start_ours(database_url: str, log_dir: Path, **settings: str) -> Server:
    """``python -m zenml_server`` on a free port, once /health answers."""
    port = free_port()
    cmd = [sys.executable, "-m", "zenml_server", "--host", "127.0.0.1", "--port", str(port)]
    return _spawn("ours", cmd, server_env(database_url, **settings), log_dir, port)


def start_reference(mode: str, log_dir: Path, sqlite_path: Path) -> Server:
    port = free_port()
    cmd = [sys.executable, "-m", "bench.reference", "--mode", mode, "--port", str(port)]
    env = {**os.environ, "BENCH_JWT_SECRET": JWT_SECRET, "BENCH_SQLITE_PATH": str(sqlite_path)}
    return _spawn(f"ref-{mode}", cmd, env, log_dir, port)


@contextmanager
def running(server: Server) -> Iterator[Server]:
    try:
        yield server
    finally:
        server.stop()


def migrate(database_url: str) -> None:
    """``python -m zenml_server migrate`` on ``database_url``."""
    subprocess.run(
        [sys.executable, "-m", "zenml_server", "migrate"],
        env=server_env(database_url),
        check=True,
        stdout=subprocess.DEVNULL,
    )


@contextmanager
def database(engine: str, work_dir: Path, label: str = "main") -> Iterator[str]:
    """A fresh empty database URL: an SQLite file, or ``zenml_bench_<random>`` (dropped after)."""
    if engine == "sqlite":
        path = work_dir / f"bench-{label}-{secrets.token_hex(4)}.sqlite"
        try:
            yield f"sqlite:///{path}"
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    name = f"zenml_bench_{secrets.token_hex(6)}"
    asyncio.run(_admin_sql(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        asyncio.run(_admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _admin_sql(sql: str) -> None:
    conn = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()
