"""`zenml user change-password`, `zenml user delete` and `zenml authorized-device approve`'s
confirmation, against a real server."""

from __future__ import annotations

import io
import json
import re

from zenml_cli.config import Credentials
from zenml_cli.main import main

from tests.cli.conftest import Cli, Server, one_error_line, unique


class _Terminal(io.StringIO):
    """Standard input that says it is a terminal, with the answers already typed."""

    def isatty(self) -> bool:
        return True


def _run_in_terminal(cli: Cli, *argv: str, typed: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(
        list(argv),
        env=cli.env,
        stdout=out,
        stderr=err,
        stdin=_Terminal(typed),
        sleep=lambda _: None,
        open_browser=lambda url: False,
    )
    return code, out.getvalue(), err.getvalue()


def _login_as(cli: Cli, server: Server, name: str, password: str) -> None:
    status, body = server.api(
        "POST", "/api/v1/login", form={"username": name, "password": password}
    )
    assert status == 200, body
    cli.config().store(server.url, Credentials(kind="password", access_token=body["access_token"]))


def _user(admin_cli: Cli, password: str = "first-pass-word") -> str:
    name = unique("pat")
    made = admin_cli("user", "create", name, "--password-stdin", stdin=f"{password}\n")
    assert made.code == 0, made.err
    return name


def _pending_code(server: Server, forwarded_for: str | None = None) -> tuple[str, str]:
    status, body = server.api(
        "POST",
        "/api/v1/device_authorization",
        form={"client_id": "5b1f8a0e-2c3d-4e5f-8a9b-0c1d2e3f4a5b"},
    )
    assert status == 200, body
    device_id = re.search(r"device_id=([0-9a-f-]+)", body["verification_uri_complete"])
    assert device_id is not None
    return body["user_code"], device_id.group(1)


def test_change_password_keeps_this_cli_logged_in(
    admin_cli: Cli, server: Server, workload: Cli
) -> None:
    """`zenml user change-password --password-stdin` changes it; this CLI stays logged in,
    another login of the same user is logged out."""
    name = _user(admin_cli)
    _login_as(workload, server, name, "first-pass-word")
    other = Cli(workload.config_dir.parent / "other")
    _login_as(other, server, name, "first-pass-word")
    result = workload(
        "user", "change-password", "--password-stdin", stdin="first-pass-word\nsecond-pass-word\n"
    )
    assert result.code == 0, result.err
    assert "Password changed" in result.out
    assert workload("status").code == 0
    refused = other("authorized-device", "list")
    assert refused.code != 0
    status, _ = server.api(
        "POST", "/api/v1/login", form={"username": name, "password": "second-pass-word"}
    )
    assert status == 200


def test_change_password_refusals_are_one_line(
    admin_cli: Cli, server: Server, workload: Cli
) -> None:
    """A wrong current password, and no terminal without --password-stdin, are one line."""
    name = _user(admin_cli)
    _login_as(workload, server, name, "first-pass-word")
    wrong = workload(
        "user", "change-password", "--password-stdin", stdin="wrong-pass-word\nnew-pass-word\n"
    )
    assert one_error_line(wrong) and "current password" in wrong.err
    no_tty = workload("user", "change-password")
    assert one_error_line(no_tty) and "--password-stdin" in no_tty.err


def test_admin_deletes_a_user(admin_cli: Cli, server: Server) -> None:
    """`zenml user delete NAME --yes` deletes; the user can no longer log in."""
    name = _user(admin_cli)
    result = admin_cli("user", "delete", name, "--yes")
    assert result.code == 0, result.err
    assert f"Deleted user {name!r}" in result.out
    status, _ = server.api(
        "POST", "/api/v1/login", form={"username": name, "password": "first-pass-word"}
    )
    assert status == 400
    assert one_error_line(admin_cli("user", "delete", name, "--yes"))


def _approver(admin_cli: Cli, server: Server, workload: Cli) -> str:
    """A user of its own (code attempts are budgeted per user) logged in on ``workload``."""
    name = _user(admin_cli)
    _login_as(workload, server, name, "first-pass-word")
    return name


def test_approve_shows_the_facts_and_asks(admin_cli: Cli, server: Server, workload: Cli) -> None:
    """`approve CODE` in a terminal shows who approves, both addresses, what the device
    reports, and asks y/N; 'n' approves nothing, 'y' approves."""
    name = _approver(admin_cli, server, workload)
    code, device_id = _pending_code(server)
    exit_code, out, err = _run_in_terminal(
        workload, "authorized-device", "approve", code, "--trust", typed="n\n"
    )
    assert exit_code == 1 and "not approved" in err
    assert f"You are {name}: if you approve, this device gets {name}'s full access." in out
    assert "Requested from:  127.0.0.1" in out and "You are at:      127.0.0.1" in out
    assert "Reported by the device" in out and "has NEVER logged in" in out
    assert "It will be trusted" in out and "[y/N]" in out
    status, device = server.api("GET", f"/api/v1/devices/{device_id}", token=server.admin_token())
    assert status == 200 and device["status"] == "pending"
    exit_code, out, err = _run_in_terminal(
        workload, "authorized-device", "approve", code, "--trust", typed="y\n"
    )
    assert exit_code == 0, err
    assert "Approved device" in out and "as trusted" in out


def test_approve_without_a_terminal_needs_yes(
    admin_cli: Cli, server: Server, workload: Cli
) -> None:
    """With no terminal and no --yes, approve is a one-line error at once (never a hang);
    --yes approves for scripts, --output json prints the device."""
    _approver(admin_cli, server, workload)
    code, device_id = _pending_code(server)
    refused = workload("authorized-device", "approve", code, "--trust")
    assert one_error_line(refused) and "--yes" in refused.err
    status, device = server.api("GET", f"/api/v1/devices/{device_id}", token=server.admin_token())
    assert status == 200 and device["status"] == "pending"
    done = workload("authorized-device", "approve", code, "--yes", "--output", "json")
    assert done.code == 0, done.err
    assert json.loads(done.out)["id"] == device_id
