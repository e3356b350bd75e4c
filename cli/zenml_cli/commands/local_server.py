"""``zenml up`` and ``zenml down``: a local zenml-server on SQLite, in the background.

``up`` starts ``zenml-server --port P`` detached from the terminal, with its pid file, log file
and database in the config directory, waits for ``/health``, then logs the CLI in as the admin
with a password it generated (or ``ZENML_SERVER_ADMIN_PASSWORD``) and passed to the server.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import socket
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from zenml_cli.arguments import port
from zenml_cli.client import login_with_password
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
    up = commands.add_parser("up", help="start a local zenml-server and connect to it")
    up.add_argument("--port", type=port, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    up.set_defaults(handler=run_up)
    down = commands.add_parser("down", help="stop the local zenml-server started by `zenml up`")
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
    password = (
        rt.env.get("ZENML_SERVER_ADMIN_PASSWORD")
        or config.local_server().get("admin_password")
        or secrets.token_urlsafe(18)
    )
    config.update_local_server(url=url, admin_password=password)
    database = (config.directory / DATABASE_FILE).resolve()
    server_env = {
        **rt.env,
        "ZENML_SERVER_DATABASE_URL": rt.env.get("ZENML_SERVER_DATABASE_URL")
        or f"sqlite:///{database}",
        "ZENML_SERVER_ADMIN_PASSWORD": password,
        "ZENML_SERVER_JWT_SECRET_KEY": rt.env.get("ZENML_SERVER_JWT_SECRET_KEY")
        or secrets.token_urlsafe(48),
    }
    log_file = config.directory / LOG_FILE
    pid = _spawn(executable, ["--port", str(args.port)], server_env, log_file)
    pid_file.write_text(f"{pid}\n")
    os.chmod(pid_file, 0o600)

    _wait_until_healthy(rt, url, pid, log_file)
    token = login_with_password(url, username, password, rt.now())
    config.store(
        url,
        Credentials(
            kind="password",
            access_token=token.access_token,
            expires_at=token.expires_at,
            username=username,
            password=password,
        ),
    )
    rt.out(f"Started zenml-server at {url} (pid {pid}; log: {log_file}).")
    rt.out(f"Connected to it as {username}. To log in from a browser, use password: {password}")
    rt.out("Stop it with `zenml down`.")
    return 0


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
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = rt.now() + STOP_TIMEOUT
    while is_alive(pid) and rt.now() < deadline:
        rt.sleep(POLL_SECONDS)
    if is_alive(pid):
        os.kill(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)
    url = config.local_server().get("url")
    if url and config.credentials(url) is not None:
        config.forget(url)
    rt.out(f"Stopped the local zenml-server (pid {pid}).")
    return 0
