"""Real ``zenml-server`` processes for tests that need more than one (replicas) or a CLI peer."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from tests.builders import ADMIN_PASSWORD, JWT_SECRET, make_settings
from zenml_server.http.app import create_app
from zenml_server.http.protocol import Runner

START_TIMEOUT_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class ServerProcess:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=1):  # noqa: S310 - loopback
                return
        except OSError:
            time.sleep(0.05)  # a process starting up: the one wait that cannot be injected
    raise RuntimeError(f"server did not start: {log.read_text(errors='replace')[-2000:]}")


@contextmanager
def running_server(database_url: str, log_dir: Path, **settings: str) -> Iterator[ServerProcess]:
    """Run ``python -m zenml_server`` on a free port until the block ends."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ZENML_SERVER_")},
        "ZENML_SERVER_DATABASE_URL": database_url,
        "ZENML_SERVER_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "ZENML_SERVER_JWT_SECRET_KEY": JWT_SECRET,
        **{f"ZENML_SERVER_{k.upper()}": v for k, v in settings.items()},
    }
    log = log_dir / f"server-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "zenml_server", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process, log)
        yield ServerProcess(url, process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@asynccontextmanager
async def serving_app(database_url: str, **overrides: object) -> AsyncIterator[str]:
    """The real app in this event loop on a free 127.0.0.1 port; yields its base URL."""
    port = free_port()
    settings = make_settings(database_url=database_url, **overrides)
    runner = Runner(
        create_app(settings),
        head_timeout=settings.request_header_timeout_seconds,
        keepalive_timeout=settings.keepalive_timeout_seconds,
        access_log=None,
    )
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
