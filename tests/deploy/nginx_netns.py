"""Run inside a private network namespace (see test_nginx_front.py): deploy/nginx.conf in front of
two upstreams answering at the name `zenml`, port 8080, exactly as in the compose file.

The namespace has only its own loopback: nginx listens on 0.0.0.0:8080 as configured, the
upstreams on [::1]:8080 and [fd00::2]:8080 (the hosts file maps `zenml` to both, as Docker's DNS
maps it to the replicas). Prints one JSON object with what each phase observed.

Usage: python -m tests.deploy.nginx_netns PHASE WORKDIR   (PHASE: forwarded | retries)
"""

from __future__ import annotations

import http.server
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.builders import ADMIN_PASSWORD
from tests.deploy.files import ROOT
from tests.deploy.test_compose import nginx_main_config

REPLICAS = ("::1", "fd00::2")
NGINX = "http://127.0.0.1:8080"
START_TIMEOUT_SECONDS = 60.0


def _setup_namespace(workdir: Path) -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    subprocess.run(["ip", "-6", "addr", "add", "fd00::2/128", "dev", "lo", "nodad"], check=True)
    hosts = workdir / "hosts"
    hosts.write_text("127.0.0.1 localhost\n" + "".join(f"{a} zenml\n" for a in REPLICAS))
    subprocess.run(["mount", "--bind", str(hosts), "/etc/hosts"], check=True)


def _wait(url: str, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - inside the namespace
                return
        except OSError:
            time.sleep(0.05)  # a process starting up: the one wait that cannot be injected
    raise RuntimeError(f"{url} did not answer")


@contextmanager
def _process(command: list[str], log: Path, env: dict[str, str] | None = None) -> Iterator[None]:
    with log.open("ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def _replica(address: str, workdir: Path) -> Iterator[None]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ZENML_SERVER_")},
        "ZENML_SERVER_DATABASE_URL": f"sqlite:///{workdir}/zenml.sqlite",
        "ZENML_SERVER_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "ZENML_SERVER_ENCRYPTION_KEY": "an-encryption-key-of-at-least-32-characters",
        # nginx's own addresses as the replicas see them: here it connects from the address it
        # connects to (one host); in compose, from its one fixed address.
        "ZENML_SERVER_TRUSTED_PROXIES": ",".join(REPLICAS),
    }
    command = [sys.executable, "-m", "zenml_server", "--host", address, "--port", "8080"]
    with _process(command, workdir / f"replica-{address}.log", env):
        _wait(f"http://[{address}]:8080/health")
        yield


@contextmanager
def _nginx(workdir: Path) -> Iterator[None]:
    main = workdir / "nginx.conf"
    main.write_text(nginx_main_config(workdir))
    command = ["nginx", "-p", str(workdir), "-c", str(main), "-g", "daemon off;"]
    with _process(command, workdir / "nginx.log"):
        _wait(f"{NGINX}/nginx-health")
        yield


class _FailingUpstream(http.server.BaseHTTPRequestHandler):
    """A replica that takes every request and answers 503 (its database just went away)."""

    seen: list[str] = []

    def _fail(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        _FailingUpstream.seen.append(self.command)
        body = b'{"detail": "database unavailable"}'
        self.send_response(503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _fail

    def log_message(self, format: str, *args: object) -> None:
        return


class _V6Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6


@contextmanager
def _failing_upstream(address: str) -> Iterator[list[str]]:
    _FailingUpstream.seen = []
    server = _V6Server((address, 8080), _FailingUpstream)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield _FailingUpstream.seen
    finally:
        server.shutdown()
        server.server_close()


def _request(path: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(NGINX + path, data=data, headers=headers or {})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:  # noqa: S310
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _device_addresses(workdir: Path) -> list[str]:
    with sqlite3.connect(workdir / "zenml.sqlite") as db:
        return [row[0] for row in db.execute("SELECT ip_address FROM devices")]


AUTHORIZE = b"client_id=5f4b0b6e-2d5c-4a39-9d6e-0a4c1b7f3e21"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def forwarded(workdir: Path) -> dict[str, object]:
    """Both replicas behind nginx: what address a device is recorded with, /metrics hidden."""
    with _replica(REPLICAS[0], workdir), _replica(REPLICAS[1], workdir), _nginx(workdir):
        spoofed = {**FORM, "X-Forwarded-For": "203.0.113.9"}
        statuses = [_request("/api/v1/device_authorization", AUTHORIZE, spoofed) for _ in range(4)]
        return {
            "statuses": statuses,
            "addresses": _device_addresses(workdir),
            "metrics": _request("/metrics"),
            "health": [_request("/health") for _ in range(4)],
        }


def retries(workdir: Path) -> dict[str, object]:
    """One replica answers 503 to everything: GETs are retried on the other, POSTs are not."""
    out: dict[str, object] = {}
    with _replica(REPLICAS[1], workdir), _failing_upstream(REPLICAS[0]) as seen:
        with _nginx(workdir):
            out["get_statuses"] = [_request("/api/v1/info") for _ in range(4)]
            out["gets_at_failing"] = seen.count("GET")
        with _nginx(workdir):  # a fresh nginx: the failing replica is not marked down yet
            out["post_statuses"] = [
                _request("/api/v1/device_authorization", AUTHORIZE, FORM) for _ in range(2)
            ]
            out["posts_at_failing"] = seen.count("POST")
            out["devices"] = len(_device_addresses(workdir))
    return out


def main() -> None:
    phase, workdir = sys.argv[1], Path(sys.argv[2])
    os.chdir(ROOT)
    _setup_namespace(workdir)
    result = {"forwarded": forwarded, "retries": retries}[phase](workdir)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
