"""connect, status and down as a new user and a CI job meet them, against a real server:
no hang on an empty key, a notice without a terminal, --no-wait / --timeout, Ctrl-C that
withdraws the code, one sentence per ending, scripts-friendly status."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from zenml_cli import device_flow

from tests.cli.conftest import Cli, Server, approve_by_code, one_error_line, unique
from tests.cli.scripted_server import scripted_server


def _code(output: str) -> str:
    match = re.search(r"Your code: (\S+)", output)
    assert match, output
    return match.group(1)


def _approve(server: Server, user_code: str) -> tuple[int, object]:
    return server.api(
        "POST",
        "/api/v1/devices/verify",
        token=server.admin_token(),
        body={"user_code": user_code, "trusted_device": False},
    )


def test_empty_api_key_fails_at_once(cli: Cli, server: Server) -> None:
    """`--api-key ""` (an unset CI secret) is an error at once, not a browser login that waits."""
    result = cli("connect", "--url", server.url, "--api-key", "")
    assert one_error_line(result), result
    assert "--api-key is empty" in result.err
    assert "Your code" not in result.out


def test_empty_api_key_in_the_environment_fails_at_once(cli: Cli, server: Server) -> None:
    """An empty ZENML_STORE_API_KEY is an error at once too."""
    result = cli("connect", "--url", server.url, env={"ZENML_STORE_API_KEY": " "})
    assert one_error_line(result), result
    assert "ZENML_STORE_API_KEY is set but empty" in result.err


def test_without_a_terminal_connect_says_it_waits_anyway(cli: Cli, server: Server) -> None:
    """With no terminal the link and code are printed once, with a notice that it waits."""
    result = cli("connect", "--url", server.url, on_sleep=approve_by_code(server))
    assert result.code == 0, result.err
    assert result.out.count("Your code:") == 1
    assert "Notice: no terminal here" in result.out
    assert "--no-wait" in result.out and "--timeout" in result.out


def test_no_wait_prints_the_code_and_a_later_connect_finishes(cli: Cli, server: Server) -> None:
    """--no-wait prints the code and exits 0; after approval, connect finishes that login."""
    first = cli("connect", "--url", server.url, "--no-wait")
    assert first.code == 0, first.err
    assert "Not waiting" in first.out
    assert cli.config().credentials(server.url) is None
    status, body = _approve(server, _code(first.out))
    assert status == 200, body
    second = cli("connect", "--url", server.url)
    assert second.code == 0, second.err
    assert "Finishing the login started earlier" in second.out
    assert "Your code" not in second.out
    assert cli("status").code == 0
    assert cli.config().pending_login(server.url) is None


def test_timeout_gives_up_and_withdraws_the_code(cli: Cli, server: Server) -> None:
    """--timeout ends the wait with one line, and the printed code can no longer be approved."""
    result = cli("connect", "--url", server.url, "--timeout", "0")
    assert one_error_line(result), result
    assert "no approval within 0 s; the login request was cancelled" in result.err
    status, _ = _approve(server, _code(result.out))
    assert status == 400


def test_timeout_counts_the_time_spent_waiting() -> None:
    """poll with a timeout stops once that much (injected) time has passed unapproved."""
    clock = [datetime(2026, 11, 28, 10, 0, tzinfo=UTC)]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += timedelta(seconds=seconds)

    pending = (400, {"error": "authorization_pending"})
    auth = device_flow.Authorization("dc", "WDJB-MJHT", "http://x", "http://x", 300, 5)
    with scripted_server([pending] * 5) as server:
        with pytest.raises(device_flow.TimedOut, match="no approval within 12 s"):
            device_flow.poll(server.url, "cid", auth, sleep=sleep, now=lambda: clock[0], timeout=12)
    assert slept == [5, 5]


def test_ctrl_c_withdraws_the_code(cli: Cli, server: Server) -> None:
    """Ctrl-C while waiting exits 130 and cancels the authorization on the server: the code
    it printed can no longer be approved."""
    shown: list[str] = []

    def interrupt(output: str) -> None:
        shown.append(_code(output))
        raise KeyboardInterrupt

    result = cli("connect", "--url", server.url, on_sleep=interrupt)
    assert (result.code, result.err) == (130, "Aborted.\n")
    assert "Cancelled the login request" in result.out
    status, body = _approve(server, shown[0])
    assert status == 400, body
    assert "expired" in str(body)


def test_device_locked_while_waiting_is_one_sentence(cli: Cli, server: Server) -> None:
    """A login locked by a person while the CLI waits ends with one sentence saying so and
    what to do, nothing repeated or mixed in."""
    locked: list[str] = []

    def lock(output: str) -> None:
        if locked:
            return
        device_id = re.search(r"device_id=([0-9a-f-]+)", output)
        assert device_id, output
        status, body = server.api(
            "PUT",
            f"/api/v1/devices/{device_id.group(1)}",
            token=server.admin_token(),
            body={"locked": True},
        )
        assert status == 200, body
        locked.append(device_id.group(1))

    result = cli("connect", "--url", server.url, on_sleep=lock)
    assert one_error_line(result), result
    assert result.err == (
        "Error: this device was locked by an admin; nothing was stored. "
        "Ask whoever locked it, or an admin, to unlock it\n"
    )


def test_refusal_sentences() -> None:
    """Denied, locked after wrong codes, expired: each its own sentence, no repetition."""
    cases = {
        ("access_denied", "the login was denied in the browser"): "the login was denied",
        (
            "access_denied",
            "the login request was locked after too many wrong codes",
        ): "this login request was locked after too many wrong codes",
        ("expired_token", "the device code has expired"): "the code expired",
    }
    for (error, description), start in cases.items():
        message = device_flow._refusal(error, description)
        assert message.startswith(start), message
        assert message.count("denied") <= 1 and "(" not in message


def test_a_locked_device_is_reported_as_locked(cli: Cli, server: Server) -> None:
    """When the device in use is locked, commands say it is locked, not 'not authenticated'."""
    assert cli("connect", "--url", server.url, on_sleep=approve_by_code(server)).code == 0
    stored = cli.config().credentials(server.url)
    assert stored is not None and stored.device_id
    status, _ = server.api(
        "PUT",
        f"/api/v1/devices/{stored.device_id}",
        token=server.admin_token(),
        body={"locked": True},
    )
    assert status == 200
    result = cli("authorized-device", "list")
    assert one_error_line(result), result
    assert "this device is locked" in result.err
    assert "not authenticated" not in result.err


def test_locking_the_device_in_use_asks_first(cli: Cli, server: Server) -> None:
    """`lock` on this CLI's own device warns it logs this CLI out and asks y/N (--yes skips)."""
    assert cli("connect", "--url", server.url, on_sleep=approve_by_code(server)).code == 0
    stored = cli.config().credentials(server.url)
    assert stored is not None and stored.device_id
    declined = cli("authorized-device", "lock", stored.device_id[:8], stdin="n\n")
    assert declined.code == 1 and "not locked" in declined.err
    assert "logs this CLI out" in declined.err
    assert cli("status").code == 0
    locked = cli("authorized-device", "lock", stored.device_id[:8], "--yes")
    assert locked.code == 0, locked.err
    assert "This CLI is logged out" in locked.out
    assert "locked" in cli("status").err


def test_status_json_when_connected_and_not(admin_cli: Cli, cli: Cli, server: Server) -> None:
    """status --output json: the login for scripts; exit 1 and connected=false when none."""
    result = admin_cli("status", "--output", "json")
    assert result.code == 0, result.err
    body = json.loads(result.out)
    assert body["connected"] is True
    assert (body["server"], body["user"], body["role"]) == (server.url, "admin", "admin")


def test_status_json_when_not_connected(cli: Cli) -> None:
    """Not connected: {"connected": false} and exit 1."""
    result = cli("status", "-o", "json")
    assert result.code == 1
    assert json.loads(result.out) == {"connected": False}


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://[::1", "is not a valid URL"),
        ("http://127.0.0.1:70000", "not a number from 1 to 65535"),
        ("http://127.0.0.1:8080/zenml", "without a path"),
        ("http://user:secret@127.0.0.1:8080", "holds a user name or password"),
        ("ftp://127.0.0.1", "starting with http:// or https://"),
    ],
)
def test_bad_urls_are_explained(cli: Cli, url: str, message: str) -> None:
    """A malformed URL is one line about the URL itself, never 'unexpected' or 'refused'."""
    result = cli("connect", "--url", url)
    assert one_error_line(result), result
    assert message in result.err
    assert "unexpected" not in result.err and "refused" not in result.err
    assert "secret" not in result.err


def test_api_key_activated_again_says_it_works(admin_cli: Cli) -> None:
    """`api-key … update --active true` says the key works again, like the account command."""
    name = unique("revived")
    assert admin_cli("service-account", "create", "--name", name).code == 0
    off = admin_cli("service-account", "api-key", name, "update", "default", "--active", "false")
    assert off.code == 0, off.err
    on = admin_cli("service-account", "api-key", name, "update", "default", "--active", "true")
    assert on.code == 0, on.err
    assert "the key works again" in on.out
