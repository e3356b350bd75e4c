"""`zenml user` against a real server."""

from __future__ import annotations

import json

from tests.cli.conftest import Cli, Server, one_error_line, unique


def _password_login(server: Server, name: str, password: str) -> int:
    status, _ = server.api(
        "POST",
        "/api/v1/login",
        form={"grant_type": "password", "username": name, "password": password},
    )
    return status


def test_create_list_and_deactivate_a_user(admin_cli: Cli, server: Server) -> None:
    """A user made with --password-stdin can log in until `update --active false`."""
    name = unique("alice")
    created = admin_cli("user", "create", name, "--password-stdin", stdin="s3cret-pass-word\n")
    assert created.code == 0, created.err
    assert f"Created user {name!r}" in created.out
    assert _password_login(server, name, "s3cret-pass-word") == 200

    users = json.loads(admin_cli("user", "list", "--output", "json").out)
    assert {"name": name, "is_admin": False, "active": True}.items() <= next(
        u for u in users if u["name"] == name
    ).items()
    assert name in admin_cli("user", "list").out

    off = admin_cli("user", "update", name, "--active", "false")
    assert off.code == 0, off.err
    assert _password_login(server, name, "s3cret-pass-word") != 200


def test_admin_flag_and_password_change(admin_cli: Cli, server: Server) -> None:
    """--admin makes an admin; --password-stdin on update replaces the password."""
    name = unique("bob")
    created = admin_cli("user", "create", name, "--admin", "--output", "json")
    assert created.code == 0, created.err
    assert json.loads(created.out)["is_admin"] is True
    changed = admin_cli("user", "update", name, "--password-stdin", stdin="another-pass-word\n")
    assert changed.code == 0, changed.err
    assert _password_login(server, name, "another-pass-word") == 200


def test_duplicate_user_is_one_line(admin_cli: Cli) -> None:
    """Creating a user twice is the server's conflict, as one line."""
    name = unique("carol")
    assert admin_cli("user", "create", name).code == 0
    assert one_error_line(admin_cli("user", "create", name))


def test_audit_list_filters_and_json(admin_cli: Cli) -> None:
    """`zenml audit list` shows the events an admin's changes made, filtered by action and
    target, as a table and as JSON."""
    name = unique("audited")
    created = admin_cli("user", "create", name, "--password-stdin", stdin="audited-password-1\n")
    assert created.code == 0, created.err
    listed = admin_cli("audit", "list", "--action", "user.", "--target", name, "--output", "json")
    assert listed.code == 0, listed.err
    events = json.loads(listed.out)
    assert [e["action"] for e in events] == ["user.created"]
    assert events[0]["actor"]["name"] == "admin" and events[0]["target"]["name"] == name
    table = admin_cli("audit", "list", "--target", name)
    assert table.code == 0 and "user.created" in table.out and "ACTION" in table.out
    bad = admin_cli("audit", "list", "--since", "yesterday")
    assert bad.code != 0 and "since" in bad.err and "Traceback" not in bad.err
