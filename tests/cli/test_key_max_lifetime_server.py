"""API keys through the CLI against a real server with ZENML_SERVER_API_KEY_MAX_LIFETIME_DAYS
set: `--expires-in` within the maximum works, anything else is one error line that changes
nothing."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.builders import ADMIN_PASSWORD
from tests.cli.conftest import Cli, Server, connect_admin, one_error_line, unique
from tests.servers import running_server


@pytest.fixture(scope="module")
def capped_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real zenml-server on SQLite whose API keys must expire within 90 days."""
    directory = tmp_path_factory.mktemp("capped-server")
    with running_server(
        f"sqlite:///{directory / 'db.sqlite'}", directory, api_key_max_lifetime_days="90"
    ) as process:
        yield Server(url=process.url, admin_password=ADMIN_PASSWORD, log=process.log)


def _works(server: Server, key: str) -> bool:
    status, _ = server.api("GET", "/api/v1/current-user", token=key)
    return status == 200


def _expiry(admin: Cli, account: str, key: str) -> str | None:
    listed = admin("service-account", "api-key", account, "list", "--output", "json")
    assert listed.code == 0, listed.err
    found: str | None = {k["name"]: k["expires_at"] for k in json.loads(listed.out)}[key]
    return found


def test_create_and_rotate_within_the_maximum(cli: Cli, capped_server: Server) -> None:
    """`service-account create --expires-in 90d` makes the account and its expiring key;
    `rotate --expires-in 30d --retain 5` gives the new key that expiry while the old one
    keeps working; without --expires-in, or past 90 days, rotate is one error line and the
    key, its secret and its expiry stay as they were."""
    admin = connect_admin(cli, capped_server)
    name = unique("capped")
    created = admin("service-account", "create", "--name", name, "--expires-in", "90d")
    assert created.code == 0, created.err
    found = re.search(r"--api-key (\S+)", created.out)
    assert found is not None
    first = found[1]
    assert _expiry(admin, name, "default") is not None

    rotated = admin(
        "service-account", "api-key", name, "rotate", "default", "--expires-in", "30d",
        "--retain", "5", "-o", "json",
    )  # fmt: skip
    assert rotated.code == 0, rotated.err
    second = json.loads(rotated.out)
    expiry = datetime.fromisoformat(second["expires_at"].replace("Z", "+00:00"))
    assert timedelta(days=29, hours=23) < expiry - datetime.now(UTC) <= timedelta(days=30)
    assert _works(capped_server, second["key"]) and _works(capped_server, first)

    for extra in ([], ["--expires-in", "91d"], ["--expires-in", "100000d"]):
        refused = admin("service-account", "api-key", name, "rotate", "default", *extra)
        assert one_error_line(refused), (extra, refused.err)
        assert "90 days" in refused.err, (extra, refused.err)
    assert _works(capped_server, second["key"])
    assert _expiry(admin, name, "default") == second["expires_at"]


def test_create_without_an_expiry_says_how_to_add_the_key(cli: Cli, capped_server: Server) -> None:
    """`service-account create` without --expires-in on a server with a maximum makes the
    account but not its key, and says in one line to add the key with --expires-in; that
    command then makes it."""
    admin = connect_admin(cli, capped_server)
    name = unique("capped")
    refused = admin("service-account", "create", "--name", name)
    assert one_error_line(refused) and "90 days" in refused.err
    assert f"api-key {name} create default --expires-in" in refused.err
    made = admin("service-account", "api-key", name, "create", "default", "--expires-in", "7d")
    assert made.code == 0, made.err
