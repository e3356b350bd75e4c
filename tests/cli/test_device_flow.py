"""The device-flow poll loop (RFC 8628 §3.4-3.5), driven by a scripted server and a fake sleep."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from zenml_cli import device_flow
from zenml_cli.errors import CLIError
from zenml_cli.main import main
from zenml_cli.runtime import Runtime

from tests.cli.conftest import Browser
from tests.cli.scripted_server import scripted_server

AUTH = device_flow.Authorization(
    device_code="dc",
    user_code="WDJB-MJHT",
    verification_uri="http://x/devices/verify",
    verification_uri_complete="http://x/devices/verify?code=WDJB-MJHT",
    expires_in=300,
    interval=5,
)
TOKEN = {"access_token": "tok", "token_type": "bearer", "expires_in": 86400, "device_id": "dev"}


def _pending(error: str = "authorization_pending") -> tuple[int, dict[str, str]]:
    return 400, {"error": error, "error_description": error.replace("_", " ")}


def test_poll_waits_interval_and_returns_the_token() -> None:
    """Pending answers are polled again every `interval` seconds until the token comes."""
    slept: list[float] = []
    with scripted_server([_pending(), _pending(), (200, TOKEN)]) as server:
        token = device_flow.poll(server.url, "cid", AUTH, sleep=slept.append, now=_now)
    assert slept == [5, 5, 5]
    assert (token.access_token, token.device_id) == ("tok", "dev")
    assert token.expires_at is not None


def test_slow_down_adds_five_seconds_for_good() -> None:
    """slow_down raises the interval by 5 s and it stays raised (§3.5)."""
    slept: list[float] = []
    answers = [_pending("slow_down"), _pending(), _pending("slow_down"), (200, TOKEN)]
    with scripted_server(answers) as server:
        device_flow.poll(server.url, "cid", AUTH, sleep=slept.append, now=_now)
    assert slept == [5, 10, 10, 15]


def test_unavailable_server_backs_off_exponentially() -> None:
    """503s double the wait (capped at a minute) and the next good answer resets it."""
    slept: list[float] = []
    answers = [(503, {}), (503, {}), (503, {}), (503, {}), _pending(), (200, TOKEN)]
    with scripted_server(answers) as server:
        device_flow.poll(server.url, "cid", AUTH, sleep=slept.append, now=_now)
    assert slept == [5, 10, 20, 40, 60, 5]


def test_stray_server_error_keeps_waiting_for_the_login() -> None:
    """A 500 (or any 5xx) while polling is waited out like a 503; the login is not lost."""
    slept: list[float] = []
    stray = [(500, {"error": "server_error"}), (500, b"oops")]
    answers = [_pending(), *stray, _pending(), (200, TOKEN)]
    with scripted_server(answers) as server:
        token = device_flow.poll(server.url, "cid", AUTH, sleep=slept.append, now=_now)
    assert token.access_token == "tok"
    assert slept == [5, 5, 10, 20, 5]


def test_connection_refused_backs_off_until_the_code_expires() -> None:
    """With no server at all the loop backs off, then gives up once the code has expired."""
    clock = [_now()]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += timedelta(seconds=seconds)

    with scripted_server([]) as server:
        dead_url = server.url
    with pytest.raises(CLIError, match="gave up waiting"):
        device_flow.poll(dead_url, "cid", AUTH, sleep=sleep, now=lambda: clock[0])
    assert slept[:4] == [5, 10, 20, 40]
    assert max(slept) == 60


@pytest.mark.parametrize(
    ("error", "message"),
    [
        ("access_denied", "^the login was denied in the browser; nothing was stored"),
        ("expired_token", "^the code expired before it was approved; run `zenml connect` again$"),
        ("invalid_grant", "^the server no longer knows this login request"),
    ],
)
def test_refusals_end_the_loop_with_one_line(error: str, message: str) -> None:
    """Denied, expired and unknown codes each stop polling with their own explanation."""
    with scripted_server([_pending(), _pending(error)]) as server:
        with pytest.raises(CLIError, match=message) as raised:
            device_flow.poll(server.url, "cid", AUTH, sleep=lambda _: None, now=_now)
    assert "\n" not in raised.value.message


def test_poll_sends_the_device_code_grant_and_user_agent() -> None:
    """Each poll is the RFC 8628 grant, and every request says who is asking, this client's
    name first."""
    with scripted_server([(200, TOKEN)]) as server:
        device_flow.poll(server.url, "cid", AUTH, sleep=lambda _: None, now=_now)
    method, path, headers = server.requests[0]
    assert (method, path) == ("POST", "/api/v1/login")
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    agent = headers["User-Agent"].split()
    parts = [part.split("/")[0] for part in agent]
    assert parts == ["zenml-cli", "Host", "ZenML", "Python", "OS"]
    assert agent[0] == "zenml-cli/0.1.0" and agent[2] == "ZenML/0.1.0"


def test_connect_denied_exits_non_zero_and_stores_nothing(tmp_path: Path) -> None:
    """`zenml connect` whose login is denied prints one Error line and keeps no token."""
    start = {
        "device_code": "dc",
        "user_code": "WDJB-MJHT",
        "verification_uri": "http://x/devices/verify",
        "verification_uri_complete": "http://x/devices/verify?code=WDJB-MJHT",
        "expires_in": 300,
        "interval": 1,
    }
    browser = Browser()
    out, err = io.StringIO(), io.StringIO()
    with scripted_server([(200, start), _pending(), _pending("access_denied")]) as server:
        code = main(
            ["connect", "--url", server.url],
            env={"ZENML_CONFIG_PATH": str(tmp_path), "DISPLAY": ":0"},
            stdout=out,
            stderr=err,
            sleep=lambda _: None,
            open_browser=browser,
        )
    assert code == 1
    assert "WDJB-MJHT" in out.getvalue()
    assert browser.opened == [start["verification_uri_complete"]]
    assert err.getvalue().count("\n") == 1 and err.getvalue().startswith("Error: ")
    servers = json.loads((tmp_path / "config.json").read_text()).get("servers", {})
    assert servers == {}


def test_server_errors_and_bad_json_are_one_line(tmp_path: Path) -> None:
    """A 500 and a non-JSON body each give one Error line, never a traceback."""
    env = {"ZENML_CONFIG_PATH": str(tmp_path), "ZENML_STORE_URL": "", "ZENML_STORE_API_KEY": ""}
    for answers, expected in (
        ([(200, {"access_token": "t", "expires_in": 60}), (500, {"error": "x"})], "HTTP 500"),
        ([(200, {"access_token": "t", "expires_in": 60}), (200, b"<html>")], "not JSON"),
    ):
        err = io.StringIO()
        with scripted_server(answers) as server:
            env["ZENML_STORE_URL"], env["ZENML_STORE_API_KEY"] = server.url, "KEY"
            code = main(["service-account", "list"], env=env, stdout=io.StringIO(), stderr=err)
        assert code == 1
        assert err.getvalue().startswith("Error: ") and err.getvalue().count("\n") == 1
        assert expected in err.getvalue()


def _now() -> datetime:
    return datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def test_ctrl_c_while_waiting_is_aborted_130(tmp_path: Path) -> None:
    """Ctrl-C during the wait prints 'Aborted.' and exits 130, storing nothing."""
    start = {
        "device_code": "dc",
        "user_code": "WDJB-MJHT",
        "verification_uri": "http://x/devices/verify",
        "expires_in": 300,
        "interval": 5,
    }

    def interrupted(_: float) -> None:
        raise KeyboardInterrupt

    err = io.StringIO()
    with scripted_server([(200, start)]) as server:
        code = main(
            ["connect", "--url", server.url, "--no-browser"],
            env={"ZENML_CONFIG_PATH": str(tmp_path)},
            stdout=io.StringIO(),
            stderr=err,
            sleep=interrupted,
        )
    assert (code, err.getvalue()) == (130, "Aborted.\n")
    assert json.loads((tmp_path / "config.json").read_text()).get("servers", {}) == {}


@pytest.mark.parametrize(
    ("env", "platform", "expected"),
    [
        ({"DISPLAY": ":0"}, "linux", True),
        ({}, "linux", False),
        ({"DISPLAY": ":0", "SSH_CONNECTION": "10.0.0.1 5 10.0.0.2 22"}, "linux", False),
        ({}, "darwin", True),
        ({"SSH_TTY": "/dev/pts/1"}, "darwin", False),
    ],
)
def test_browser_is_only_opened_where_one_can_appear(
    env: dict[str, str], platform: str, expected: bool
) -> None:
    """No browser over SSH or on Linux without a display; elsewhere, try."""
    rt = Runtime(
        env=env,
        stdout=io.StringIO(),
        stderr=io.StringIO(),
        stdin=io.StringIO(),
        sleep=lambda _: None,
        platform=platform,
    )
    assert rt.browser_available() is expected


def test_no_browser_prints_the_url_and_opens_nothing(tmp_path: Path) -> None:
    """--no-browser shows the URL and the code, and leaves the browser alone."""
    start = {
        "device_code": "dc",
        "user_code": "WDJB-MJHT",
        "verification_uri": "http://x/devices/verify",
        "verification_uri_complete": "http://x/devices/verify?code=WDJB-MJHT",
        "expires_in": 300,
        "interval": 1,
    }
    browser = Browser()
    out = io.StringIO()
    with scripted_server([(200, start), _pending("expired_token")]) as server:
        code = main(
            ["connect", "--url", server.url, "--no-browser"],
            env={"ZENML_CONFIG_PATH": str(tmp_path), "DISPLAY": ":0"},
            stdout=out,
            stderr=io.StringIO(),
            sleep=lambda _: None,
            open_browser=browser,
        )
    assert code == 1
    assert browser.opened == []
    assert str(start["verification_uri_complete"]) in out.getvalue()
    assert "Your code: WDJB-MJHT" in out.getvalue()
