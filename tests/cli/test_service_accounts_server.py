"""Service accounts and API keys, end to end against a real server, as on the docs page."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from tests.cli.conftest import Cli, Server, one_error_line, unique


def _create_account(admin_cli: Cli, name: str) -> str:
    """Create an account the way the docs page does; return the key it printed."""
    result = admin_cli("service-account", "create", "--name", name)
    assert result.code == 0, result.err
    match = re.search(r"--api-key (\S+)", result.out)
    assert match, result.out
    return match.group(1)


def test_create_prints_the_key_once_with_how_to_use_it(admin_cli: Cli, server: Server) -> None:
    """create makes the account and a 'default' key, warns it is shown once, shows both uses."""
    name = unique("ci")
    result = admin_cli("service-account", "create", "--name", name)
    assert result.code == 0, result.err
    key = re.search(r"--api-key (\S+)", result.out)
    assert key
    assert "shown only this once" in result.out
    assert f"zenml connect --url {server.url} --api-key {key.group(1)}" in result.out
    assert f"export ZENML_STORE_URL={server.url}" in result.out
    assert f"export ZENML_STORE_API_KEY={key.group(1)}" in result.out

    keys = admin_cli("service-account", "api-key", name, "list", "--output", "json")
    assert keys.code == 0, keys.err
    assert [k["name"] for k in json.loads(keys.out)] == ["default"]
    assert "key" not in json.loads(keys.out)[0]


def test_connect_with_api_key_stores_it_and_says_who(
    workload: Cli, admin_cli: Cli, server: Server
) -> None:
    """`connect --url URL --api-key KEY` logs in, stores the key 0600, names the account."""
    name = unique("deployer")
    key = _create_account(admin_cli, name)
    result = workload("connect", "--url", server.url, "--api-key", key)
    assert result.code == 0, result.err
    assert f"as service account {name}" in result.out
    stored = workload.config().credentials(server.url)
    assert stored is not None and (stored.kind, stored.api_key) == ("api_key", key)
    assert (workload.config().path.stat().st_mode & 0o777) == 0o600
    status = workload("status")
    assert status.code == 0, status.err
    assert f"User:          {name}" in status.out
    assert "Auth method:   api_key" in status.out


def test_a_bad_api_key_is_refused_in_one_line(cli: Cli, server: Server) -> None:
    """A wrong key is rejected by the server; nothing is stored."""
    result = cli("connect", "--url", server.url, "--api-key", "ZENKEY_not-a-real-key")
    assert one_error_line(result)
    assert "rejected the API key" in result.err
    assert cli.config().credentials(server.url) is None


def test_environment_variables_need_nothing_stored(
    workload: Cli, admin_cli: Cli, server: Server
) -> None:
    """ZENML_STORE_URL + ZENML_STORE_API_KEY make commands work with an empty config dir."""
    name = unique("lambda")
    key = _create_account(admin_cli, name)
    env = {"ZENML_STORE_URL": server.url, "ZENML_STORE_API_KEY": key}
    result = workload("status", env=env)
    assert result.code == 0, result.err
    assert f"User:          {name}" in result.out
    assert "from the environment" in result.out
    assert result.err == ""
    assert not workload.config_dir.exists()


def test_environment_variables_win_over_stored_login(admin_cli: Cli, server: Server) -> None:
    """With stored admin credentials, the env key is used instead, and the CLI says so once."""
    name = unique("gitlab")
    key = _create_account(admin_cli, name)
    env = {"ZENML_STORE_URL": server.url, "ZENML_STORE_API_KEY": key}
    result = admin_cli("status", env=env)
    assert result.code == 0, result.err
    assert f"User:          {name}" in result.out
    assert result.err.count("ZENML_STORE_API_KEY") == 1


def test_list_describe_and_json(admin_cli: Cli) -> None:
    """list and describe show the account in a table, and as API objects with --output json."""
    name = unique("docs")
    created = admin_cli(
        "service-account", "create", name, "--description", "builds docs", "--output", "json"
    )
    assert created.code == 0, created.err
    body = json.loads(created.out)
    assert body["service_account"]["name"] == name
    assert body["api_key"]["name"] == "default" and body["api_key"]["key"]

    listing = admin_cli("service-account", "list")
    assert listing.code == 0, listing.err
    assert listing.out.splitlines()[0].split()[:2] == ["NAME", "ACTIVE"]
    assert name in listing.out

    described = admin_cli("service-account", "describe", name)
    assert described.code == 0, described.err
    assert "builds docs" in described.out and "API keys:" in described.out

    as_json = json.loads(admin_cli("service-account", "describe", name, "-o", "json").out)
    assert (as_json["name"], as_json["active"]) == (name, True)

    key = json.loads(
        admin_cli("service-account", "api-key", name, "describe", "default", "-o", "json").out
    )
    assert key["service_account"]["name"] == name and "key" not in key


def test_rotate_with_retain_keeps_the_old_key_for_a_while(
    workload: Cli, admin_cli: Cli, server: Server
) -> None:
    """rotate --retain 60 prints a new key and until when the old one works; both work now."""
    name = unique("rotating")
    old_key = _create_account(admin_cli, name)
    result = admin_cli("service-account", "api-key", name, "rotate", "default", "--retain", "60")
    assert result.code == 0, result.err
    assert "keeps working until" in result.out and "(60 min)" in result.out
    new_key = re.search(r"--api-key (\S+)", result.out)
    assert new_key and new_key.group(1) != old_key
    for key in (old_key, new_key.group(1)):
        assert workload("connect", "--url", server.url, "--api-key", key).code == 0


def test_rotate_without_retain_retires_the_old_key(
    workload: Cli, admin_cli: Cli, server: Server
) -> None:
    """rotate without --retain: the previous key stops working at once."""
    name = unique("strict")
    old_key = _create_account(admin_cli, name)
    rotated = admin_cli("service-account", "api-key", name, "rotate", "default", "-o", "json")
    assert rotated.code == 0, rotated.err
    assert json.loads(rotated.out)["key"] != old_key
    assert one_error_line(workload("connect", "--url", server.url, "--api-key", old_key))


def test_deactivating_the_account_or_the_key_locks_it_out(
    workload: Cli, admin_cli: Cli, server: Server
) -> None:
    """`update --active false` on the account, or on the key, makes the key useless at once."""
    name = unique("deactivated")
    key = _create_account(admin_cli, name)
    off = admin_cli("service-account", "update", name, "--active", "false")
    assert off.code == 0, off.err
    assert "deactivated" in off.out
    assert one_error_line(workload("connect", "--url", server.url, "--api-key", key))
    assert admin_cli("service-account", "update", name, "--active", "true").code == 0
    assert workload("connect", "--url", server.url, "--api-key", key).code == 0

    key_off = admin_cli(
        "service-account", "api-key", name, "update", "default", "--active", "false"
    )
    assert key_off.code == 0, key_off.err
    refused = workload("status")
    assert one_error_line(refused)


def test_api_key_create_update_and_delete(admin_cli: Cli) -> None:
    """A second key can be created, renamed and deleted (after confirmation)."""
    name = unique("keys")
    assert admin_cli("service-account", "create", name, "--no-api-key").code == 0
    created = admin_cli(
        "service-account", "api-key", name, "create", "ci", "--description", "GitHub Actions"
    )
    assert created.code == 0, created.err
    assert "shown only this once" in created.out

    renamed = admin_cli("service-account", "api-key", name, "update", "ci", "--name", "gha")
    assert renamed.code == 0, renamed.err
    kept = admin_cli("service-account", "api-key", name, "delete", "gha", stdin="no\n")
    assert kept.code == 1 and "not deleted" in kept.err
    deleted = admin_cli("service-account", "api-key", name, "delete", "gha", "--yes")
    assert deleted.code == 0, deleted.err
    remaining = json.loads(admin_cli("service-account", "api-key", name, "list", "-o", "json").out)
    assert remaining == []


def test_delete_asks_first_and_unknown_names_are_one_line(admin_cli: Cli) -> None:
    """delete asks unless --yes; a missing account is a one-line 404."""
    name = unique("doomed")
    assert admin_cli("service-account", "create", name, "--no-api-key").code == 0
    assert admin_cli("service-account", "delete", name, stdin="y\n").code == 0
    missing = admin_cli("service-account", "describe", name)
    assert one_error_line(missing)
    nothing = admin_cli("service-account", "update", name)
    assert one_error_line(nothing) and "nothing to change" in nothing.err


def test_expires_in_sets_the_expiry_and_list_shows_it(admin_cli: Cli) -> None:
    """`api-key create/rotate --expires-in 90d` gives the key an expiry ~90 days ahead, shown
    by list; a malformed duration is one error line."""
    name = unique("expiring")
    _create_account(admin_cli, name)
    created = admin_cli("service-account", "api-key", name, "create", "k90", "--expires-in", "90d")
    assert created.code == 0, created.err
    assert "It expires at" in created.out
    listed = admin_cli("service-account", "api-key", name, "list", "--output", "json")
    expiry = {k["name"]: k["expires_at"] for k in json.loads(listed.out)}
    assert expiry["default"] is None
    when = datetime.fromisoformat(expiry["k90"].replace("Z", "+00:00"))
    assert timedelta(days=89, hours=23) < when - datetime.now(UTC) <= timedelta(days=90)
    table = admin_cli("service-account", "api-key", name, "list")
    assert "EXPIRES" in table.out
    rotated = admin_cli("service-account", "api-key", name, "rotate", "k90", "--expires-in", "12h")
    assert rotated.code == 0, rotated.err
    assert "The new key expires at" in rotated.out
    bad = admin_cli("service-account", "api-key", name, "create", "kx", "--expires-in", "soon")
    assert one_error_line(bad) and "90d" in bad.err
