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
