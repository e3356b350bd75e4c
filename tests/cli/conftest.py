"""A real zenml-server in a subprocess, and a runner for the CLI in-process against it.

The server is started once per test session on a free port with its own SQLite file; each test
gets its own config directory, so tests never share CLI credentials.
"""

from __future__ import annotations

import io
import json
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from zenml_cli.config import Config, Credentials, format_timestamp
from zenml_cli.main import main

from tests.builders import ADMIN_PASSWORD
from tests.servers import running_server


@dataclass
class Server:
    url: str
    admin_password: str
    log: Path
    _admin_login: dict[str, Any] | None = None

    def api(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        form: dict[str, str] | None = None,
        body: Any = None,
    ) -> tuple[int, Any]:
        """One request straight to the server (not through the CLI): (status, JSON or None)."""
        headers = {"Accept": "application/json"}
        data = None
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(  # noqa: S310 (the test server: always http)
            self.url + path, data=data, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
                raw = answer.read()
                status = answer.status
        except urllib.error.HTTPError as error:
            with error:
                raw = error.read()
                status = error.code
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode(errors="replace")

    def admin_login(self) -> dict[str, Any]:
        """The admin's token response, logged in once per session.

        The server rate-limits password logins per user name (a burst of 10), so tests share
        this one login instead of each logging in again.
        """
        if self._admin_login is None:
            status, body = self.api(
                "POST",
                "/api/v1/login",
                form={
                    "grant_type": "password",
                    "username": "admin",
                    "password": self.admin_password,
                },
            )
            assert status == 200, body
            self._admin_login = body
        return self._admin_login

    def admin_token(self) -> str:
        token: str = self.admin_login()["access_token"]
        return token


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real zenml-server on SQLite, for the whole session."""
    directory = tmp_path_factory.mktemp("zenml-server")
    # 1 s, with the server's ±1 s tolerance, lets the CLI poll again at once (fake sleep).
    with running_server(
        f"sqlite:///{directory / 'db.sqlite'}", directory, device_auth_polling_interval="1"
    ) as process:
        yield Server(url=process.url, admin_password=ADMIN_PASSWORD, log=process.log)


class Browser:
    """Stands in for the user's browser: records the URLs the CLI asks it to open."""

    def __init__(self) -> None:
        self.opened: list[str] = []

    def __call__(self, url: str) -> bool:
        self.opened.append(url)
        return True


@dataclass
class Result:
    code: int
    out: str
    err: str


class Cli:
    """Runs ``zenml ARGV`` in-process with its own config directory and explicit environment."""

    def __init__(self, config_dir: Path) -> None:
        self.config_dir = config_dir
        self.env = {"ZENML_CONFIG_PATH": str(config_dir)}

    def __call__(
        self,
        *argv: str,
        env: dict[str, str] | None = None,
        stdin: str = "",
        on_sleep: Callable[[str], None] | None = None,
        open_browser: Callable[[str], bool] | None = None,
    ) -> Result:
        out, err = io.StringIO(), io.StringIO()
        sleeps: list[float] = []

        def sleep(seconds: float) -> None:
            sleeps.append(seconds)
            if len(sleeps) > 50:
                raise RuntimeError("the CLI kept polling: the test's approval never landed")
            if on_sleep is not None:
                on_sleep(out.getvalue())

        code = main(
            list(argv),
            env={**self.env, **(env or {})},
            stdout=out,
            stderr=err,
            stdin=io.StringIO(stdin),
            sleep=sleep,
            open_browser=open_browser or (lambda url: False),
        )
        return Result(code, out.getvalue(), err.getvalue())

    def config(self) -> Config:
        return Config(self.config_dir)


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """The CLI, with nothing stored yet."""
    return Cli(tmp_path / "zenml")


@pytest.fixture
def workload(tmp_path: Path) -> Cli:
    """A second CLI installation (its own config dir), e.g. a CI job using an API key."""
    return Cli(tmp_path / "workload")


@pytest.fixture
def admin_cli(cli: Cli, server: Server) -> Cli:
    """The CLI connected to the server as the admin, the way `zenml up` connects it."""
    return connect_admin(cli, server)


def connect_admin(cli: Cli, server: Server) -> Cli:
    """Store the admin's login to ``server`` in ``cli``'s config, as `zenml up` does."""
    login = server.admin_login()
    expires_at = datetime.now(UTC) + timedelta(seconds=login["expires_in"])
    cli.config().store(
        server.url,
        Credentials(
            kind="password",
            access_token=login["access_token"],
            expires_at=format_timestamp(expires_at),
            username="admin",
            password=server.admin_password,
        ),
    )
    return cli


def unique(prefix: str) -> str:
    """A name no other test uses (the server lives for the whole session)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def approve_by_code(server: Server, *, trust: bool = False) -> Callable[[str], None]:
    """An ``on_sleep`` hook: the first time the CLI waits, the admin approves the shown code."""
    done: list[str] = []

    def hook(output: str) -> None:
        if done:
            return
        match = re.search(r"Your code: (\S+)", output)
        assert match, output
        status, body = server.api(
            "POST",
            "/api/v1/devices/verify",
            token=server.admin_token(),
            body={"user_code": match.group(1), "trusted_device": trust},
        )
        assert status == 200, body
        done.append(match.group(1))

    return hook


def one_error_line(result: Result) -> bool:
    """The failure shape every command keeps: exactly one ``Error: ...`` line on stderr."""
    return result.code != 0 and result.err.startswith("Error: ") and result.err.count("\n") == 1
