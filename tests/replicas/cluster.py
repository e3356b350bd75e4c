"""Real parts for the replica suite: a PostgreSQL instance of our own, zenml-server replicas,
and Debian's nginx in front of them, each a child process with its own files in a temp dir."""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import asyncpg

from tests.builders import ADMIN_PASSWORD, JWT_SECRET
from tests.servers import free_port

START_TIMEOUT_SECONDS = 60.0


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise FileNotFoundError(f"PostgreSQL's {name} is not installed")
    return found[-1]


def _as_postgres(*argv: str) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the postgres OS user then."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else list(argv)


class PgInstance:
    """A PostgreSQL server of our own (initdb in a temp dir, a free port), so a test may
    restart it without touching the machine's shared one."""

    def __init__(self) -> None:
        # Its own temp dir: pytest's are private to root, and PostgreSQL runs as postgres.
        self.root = Path(tempfile.mkdtemp(prefix="zenml-replicas-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        self.dir = self.root / "pgdata"
        self.log = self.root / "postgres.log"
        self.port = free_port()

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            _as_postgres(_pg_bin("pg_ctl"), "-D", str(self.dir), "-l", str(self.log), *args),
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self) -> None:
        if not self.dir.exists():
            subprocess.run(
                _as_postgres(
                    _pg_bin("initdb"), "-D", str(self.dir), "-U", "postgres", "-A", "trust"
                ),
                check=True,
                capture_output=True,
                timeout=120,
            )
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} "
            "-c max_connections=200 -c fsync=off -c full_page_writes=off"
        )
        self._ctl("-w", "-t", "60", "-o", options, "start")

    def restart(self) -> None:
        """Stop (fast: every session is ended) and start again, as an operator would."""
        self._ctl("-w", "-t", "60", "-m", "fast", "restart")

    def stop(self) -> None:
        """Stop the server and remove its files."""
        if self.dir.exists():
            subprocess.run(
                _as_postgres(_pg_bin("pg_ctl"), "-D", str(self.dir), "-m", "immediate", "stop"),
                capture_output=True,
                timeout=60,
                check=False,
            )
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    async def fresh_database(self, name: str) -> str:
        conn = await asyncpg.connect(self.url(), timeout=10)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return self.url(name)


@dataclass
class Replica:
    """One ``zenml-server`` process on a fixed port (so a restart comes back where nginx
    expects it)."""

    database_url: str
    log_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.log_dir / f"replica-{self.port}.log"

    def start(self) -> None:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("ZENML_SERVER_")},
            "ZENML_SERVER_DATABASE_URL": self.database_url,
            "ZENML_SERVER_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "ZENML_SERVER_JWT_SECRET_KEY": JWT_SECRET,
            "ZENML_SERVER_RATE_LIMIT_SCALE": "10000",
            "ZENML_SERVER_DEVICE_AUTH_POLLING_INTERVAL": "1",
        }
        self.starts += 1
        with self.log.open("ab") as out:
            argv = [sys.executable, "-m", "zenml_server", "--host", "127.0.0.1"]
            self.process = subprocess.Popen(
                [*argv, "--port", str(self.port)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()

    async def exit_code(self, within: float = 60.0) -> int:
        assert self.process is not None
        return await asyncio.to_thread(self.process.wait, within)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


_NGINX_CONF = """\
daemon off;
master_process on;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    upstream zenml {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://zenml;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_next_upstream error timeout;
            proxy_connect_timeout 2s;
            proxy_read_timeout 60s;
        }}
    }}
}}
"""


class Nginx:
    """Debian's nginx, round-robin over the replicas, as a non-daemon child process."""

    def __init__(self, root: Path, replicas: list[Replica]) -> None:
        self.root = root
        self.port = free_port()
        root.mkdir(parents=True, exist_ok=True)
        servers = "\n".join(
            f"        server 127.0.0.1:{r.port} max_fails=1 fail_timeout=1s;" for r in replicas
        )
        self.conf = root / "nginx.conf"
        self.conf.write_text(_NGINX_CONF.format(root=root, servers=servers, port=self.port))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        self.process = subprocess.Popen(
            [binary, "-p", str(self.root), "-c", str(self.conf), "-e", str(self.root / "e.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


async def status_of(http: aiohttp.ClientSession, url: str) -> int:
    """The status of GET ``url``; 0 when nothing answers."""
    try:
        async with http.get(url, timeout=aiohttp.ClientTimeout(total=5)) as resp:
            await resp.read()
            return resp.status
    except (aiohttp.ClientError, TimeoutError):
        return 0


async def until_ready(http: aiohttp.ClientSession, url: str, within: float = 60.0) -> float:
    """Wait until ``url``/ready answers 200; return how long it took."""
    started = time.monotonic()
    async with asyncio.timeout(within):
        while True:
            if await status_of(http, url + "/ready") == 200:
                return time.monotonic() - started
            await asyncio.sleep(0.05)
