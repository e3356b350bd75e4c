"""``zenml up`` and ``zenml down``: a local zenml-server on SQLite, in the background.

``up`` starts ``zenml-server --port P`` detached from the terminal, with its pid file, log file
and database in the config directory, and waits for ``/health``. On a new database it gives the
server an admin password (``ZENML_SERVER_ADMIN_PASSWORD``, or a generated one shown once), logs
in with it just long enough to approve this CLI as a trusted device, and keeps only that
device's token: no password is stored. Later ``up``s reuse the stored login while it lasts.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import socket
import sys
import urllib.parse
from datetime import timedelta
from pathlib import Path
from typing import Any

from zenml_cli import device_flow
from zenml_cli.arguments import add_command, port
from zenml_cli.client import Client, login_with_password
from zenml_cli.config import Credentials
from zenml_cli.errors import CLIError
from zenml_cli.runtime import Runtime
from zenml_cli.transport import ConnectionFailed, send

DEFAULT_PORT = 8237
PID_FILE = "local-server.pid"
LOG_FILE = "local-server.log"
DATABASE_FILE = "local-server.sqlite"
START_TIMEOUT = timedelta(seconds=30)
STOP_TIMEOUT = timedelta(seconds=10)
POLL_SECONDS = 0.2
INSTALL_HINT = (
    "zenml-server is not installed: run `pip install zenml-server` "
    "(or `pip install -e .` in a checkout of the repository)"
)


def register(commands: argparse._SubParsersAction[Any]) -> None:
    up = add_command(
        commands,
        "up",
        help="start a local zenml-server in the background and connect to it",
        description="Start zenml-server on SQLite in the background (database, log and pid "
        "file in the config directory) and connect this CLI to it as a trusted device. On a "
        "new database it prints the admin password once; it is not stored anywhere.",
        example=["zenml up", "zenml up --port 8300"],
    )
    up.add_argument(
        "--port",
        type=port,
        default=DEFAULT_PORT,
        help=f"the port on 127.0.0.1 (default {DEFAULT_PORT})",
    )
    up.set_defaults(handler=run_up)
    down = add_command(
        commands,
        "down",
        help="stop the local zenml-server started by `zenml up` and disconnect from it",
        example="zenml down",
    )
    down.set_defaults(handler=run_down)


def find_server_executable(rt: Runtime) -> str:
    """``zenml-server`` on PATH, or next to this Python (an unactivated virtualenv)."""
    found = shutil.which("zenml-server", path=rt.env.get("PATH"))
    if found:
        return found
    beside = Path(sys.executable).parent / "zenml-server"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    raise CLIError(INSTALL_HINT)


def is_alive(pid: int) -> bool:
    """True while process ``pid`` runs; reaps it when it is our own finished child."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    else:
        return done != pid
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def port_in_use(number: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        return probe.connect_ex(("127.0.0.1", number)) == 0


def run_up(rt: Runtime, args: argparse.Namespace) -> int:
    config = rt.config()
    pid_file = config.directory / PID_FILE
    pid = read_pid(pid_file)
    if pid is not None and is_alive(pid):
        url = config.local_server().get("url", "?")
        rt.out(f"A local zenml-server is already running at {url} (pid {pid}).")
        return 0
    executable = find_server_executable(rt)
    if port_in_use(args.port):
        raise CLIError(f"port {args.port} is already in use; choose another with --port")

    url = f"http://127.0.0.1:{args.port}"
    username = rt.env.get("ZENML_SERVER_ADMIN_USERNAME") or "admin"
    database = (config.directory / DATABASE_FILE).resolve()
    database_url = rt.env.get("ZENML_SERVER_DATABASE_URL") or f"sqlite:///{database}"
    fresh = database_url == f"sqlite:///{database}" and not database.exists()
    given_password = rt.env.get("ZENML_SERVER_ADMIN_PASSWORD")
    password = given_password or (secrets.token_urlsafe(18) if fresh else None)
    config.set_local_server(url)
    server_env = {**rt.env, "ZENML_SERVER_DATABASE_URL": database_url}
    if password is not None:
        # Used by the server only when it creates the first admin, on an empty database.
        server_env["ZENML_SERVER_ADMIN_PASSWORD"] = password
    log_file = config.directory / LOG_FILE
    pid = _spawn(executable, ["--port", str(args.port)], server_env, log_file)
    pid_file.write_text(f"{pid}\n")
    os.chmod(pid_file, 0o600)

    _wait_until_healthy(rt, url, pid, log_file)
    rt.out(f"Started zenml-server at {url} (pid {pid}; log: {log_file}).")
    stored = config.credentials(url)
    if stored is not None and stored.kind == "device" and not stored.expired(rt.now()):
        config.activate(url)
        rt.out(f"Connected to it as {stored.username} (the login stored earlier).")
    elif password is not None:
        credentials = _connect_as_trusted_device(rt, url, username, password)
        config.store(url, credentials)
        rt.out(f"Connected to it as {username}, as a trusted device.")
        if given_password is None:
            rt.out(f"To log in from a browser, use {username!r} with password: {password}")
            rt.out("It is not stored anywhere and will not be shown again.")
    else:
        rt.out(f"Log in with `zenml connect --url {url}`.")
    rt.out("Stop it with `zenml down`.")
    return 0


def _connect_as_trusted_device(rt: Runtime, url: str, username: str, password: str) -> Credentials:
    """Log in with the admin password once, approve this CLI as a trusted device with it,
    and collect the device's token: the same device login a browser would approve."""
    admin = login_with_password(url, username, password, rt.now())
    client_id = rt.config().client_id
    authorization = device_flow.start(url, client_id)
    query = urllib.parse.urlsplit(authorization.verification_uri_complete).query
    device_id = urllib.parse.parse_qs(query).get("device_id", [""])[0]
    approver = Credentials(
        kind="password", access_token=admin.access_token, expires_at=admin.expires_at
    )
    Client(url, approver, config=None, now=rt.now).put(
        f"/api/v1/devices/{urllib.parse.quote(device_id)}/verify",
        {"user_code": authorization.user_code, "trusted_device": True},
    )
    # Approved already: the first poll answers with the token, so there is nothing to wait for.
    token = device_flow.poll(url, client_id, authorization, sleep=lambda _: None, now=rt.now)
    return Credentials(
        kind="device",
        access_token=token.access_token,
        expires_at=token.expires_at,
        device_id=token.device_id,
        username=username,
    )


def _spawn(executable: str, arguments: list[str], env: dict[str, str], log_file: Path) -> int:
    """Start the server in its own process group (Ctrl-C here must not stop it), output to log."""
    if not hasattr(os, "posix_spawn"):
        raise CLIError("`zenml up` needs Linux or macOS; start zenml-server yourself instead")
    log_flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
    try:
        return os.posix_spawn(
            executable,
            [executable, *arguments],
            env,
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_OPEN, 1, str(log_file), log_flags, 0o600),
                (os.POSIX_SPAWN_DUP2, 1, 2),
            ],
            setpgroup=0,
        )
    except OSError as exc:
        raise CLIError(f"cannot start {executable}: {exc.strerror}") from None


def _wait_until_healthy(rt: Runtime, url: str, pid: int, log_file: Path) -> None:
    deadline = rt.now() + START_TIMEOUT
    while rt.now() < deadline:
        if not is_alive(pid):
            raise CLIError(f"zenml-server stopped while starting; see {log_file}")
        try:
            if send("GET", url + "/health", timeout=2.0).status == 200:
                return
        except ConnectionFailed:
            pass
        rt.sleep(POLL_SECONDS)
    raise CLIError(
        f"zenml-server did not answer on {url}/health within "
        f"{int(START_TIMEOUT.total_seconds())} s; see {log_file}"
    )


def run_down(rt: Runtime, args: argparse.Namespace) -> int:
    config = rt.config()
    pid_file = config.directory / PID_FILE
    pid = read_pid(pid_file)
    if pid is None or not is_alive(pid):
        pid_file.unlink(missing_ok=True)
        rt.out("No local zenml-server is running.")
        url = config.local_server().get("url")
        if url and config.deactivate(url):
            rt.out(f"Disconnected from {url}, where it ran.")
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = rt.now() + STOP_TIMEOUT
    while is_alive(pid) and rt.now() < deadline:
        rt.sleep(POLL_SECONDS)
    if is_alive(pid):
        os.kill(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)
    rt.out(f"Stopped the local zenml-server (pid {pid}).")
    url = config.local_server().get("url")
    # Disconnect so commands stop talking to a server that is gone; the device login is kept
    # (not revoked): the next `zenml up` on the same database reconnects with it.
    if url and config.deactivate(url):
        rt.out(f"Disconnected from {url}; `zenml up` connects to it again.")
    return 0
