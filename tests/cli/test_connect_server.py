"""connect / status / disconnect and the device commands, against a real server."""

from __future__ import annotations

import json

from zenml_cli.config import Credentials

from tests.cli.conftest import Browser, Cli, Server, approve_by_code, one_error_line
from tests.servers import free_port


def test_status_when_nothing_is_stored(cli: Cli) -> None:
    """status says 'not connected' and how to connect, and exits 1 (as `gh auth status`)."""
    result = cli("status")
    assert result.code == 1
    assert "Not connected" in result.out and "zenml connect --url" in result.out


def test_connection_refused_is_one_line(cli: Cli) -> None:
    """A server that is not there is one Error line naming the URL, exit 1."""
    url = f"http://127.0.0.1:{free_port()}"
    result = cli("connect", "--url", url, "--no-browser")
    assert one_error_line(result)
    assert f"cannot reach the server at {url}" in result.err


def test_status_shows_server_user_and_method(admin_cli: Cli, server: Server) -> None:
    """status reports the server, the user and how they authenticated."""
    result = admin_cli("status")
    assert result.code == 0, result.err
    assert f"Server:        {server.url}" in result.out
    assert "User:          admin\n" in result.out
    assert "Role:          admin\n" in result.out
    assert "(admin)" not in result.out
    assert "Auth method:   password" in result.out
    assert "Token expires:" in result.out


def test_token_is_cached_and_a_rejected_one_is_renewed(admin_cli: Cli, server: Server) -> None:
    """The login token is stored; when the server answers 401 the CLI logs in again, once."""
    assert admin_cli("status").code == 0
    stored = admin_cli.config().credentials(server.url)
    assert stored is not None and stored.access_token and stored.expires_at
    stored.access_token, stored.expires_at = "not-a-valid-token", "2099-01-01T00:00:00Z"
    admin_cli.config().store(server.url, stored)
    result = admin_cli("status")
    assert result.code == 0, result.err
    renewed = admin_cli.config().credentials(server.url)
    assert renewed is not None and renewed.access_token not in (None, "not-a-valid-token")


def test_a_rejected_device_token_asks_to_connect_again(cli: Cli, server: Server) -> None:
    """A device token the server refuses cannot be renewed: one line says to reconnect."""
    cli.config().store(
        server.url, Credentials(kind="device", access_token="revoked", device_id="d")
    )
    result = cli("status")
    assert one_error_line(result)
    assert f"zenml connect --url {server.url}" in result.err


def test_device_flow_connects_and_devices_can_be_managed(cli: Cli, server: Server) -> None:
    """connect prints the code, opens the browser, polls until approved, then lists/locks."""
    browser = Browser()
    result = cli(
        "connect",
        "--url",
        server.url,
        env={"DISPLAY": ":0"},
        on_sleep=approve_by_code(server, trust=True),
        open_browser=browser,
    )
    assert result.code == 0, result.err
    assert "Your code: " in result.out and "Waiting for approval" in result.out
    assert f"Connected to {server.url} as admin." in result.out
    assert len(browser.opened) == 1 and browser.opened[0].startswith(server.url)

    stored = cli.config().credentials(server.url)
    assert stored is not None and stored.kind == "device" and stored.device_id
    device_id = stored.device_id

    status = cli("status")
    assert status.code == 0, status.err
    assert "Auth method:   device" in status.out and device_id in status.out

    listing = cli("authorized-device", "list", "--output", "json")
    assert listing.code == 0, listing.err
    assert device_id in [d["id"] for d in json.loads(listing.out)]

    table = cli("devices", "list")
    assert table.out.splitlines()[0].split()[:3] == ["ID", "STATUS", "TRUSTED"]

    described = cli("authorized-device", "describe", device_id[:13], "--output", "json")
    assert described.code == 0, described.err
    device = json.loads(described.out)
    assert (device["id"], device["trusted_device"], device["status"]) == (device_id, True, "active")
    assert device["client_version"] == "0.1.0"

    # The device locks itself (after saying yes): its own token is refused from then on.
    locked = cli("device", "lock", device_id, stdin="y\n")
    assert locked.code == 0, locked.err
    assert f"Locked device {device_id}" in locked.out
    refused = cli("status")
    assert one_error_line(refused)
    assert "zenml connect" in refused.err


def test_disconnect_revokes_and_forgets(cli: Cli, server: Server) -> None:
    """disconnect revokes the device token on the server and drops it locally."""
    assert (
        cli("connect", "--url", server.url, "--no-browser", on_sleep=approve_by_code(server)).code
        == 0
    )
    token = cli.config().credentials(server.url).access_token  # type: ignore[union-attr]
    result = cli("disconnect")
    assert result.code == 0, result.err
    assert "Revoked the token" in result.out
    assert cli.config().credentials(server.url) is None
    status, _ = server.api("GET", "/api/v1/current-user", token=token)
    assert status == 401
    assert "Not connected" in cli("status").out


def test_device_commands_by_prefix(admin_cli: Cli, server: Server) -> None:
    """unlock, describe and delete accept a unique prefix; an unknown one changes nothing."""
    other = Cli(admin_cli.config_dir.parent / "laptop")
    connected = other("login", server.url, "--no-browser", on_sleep=approve_by_code(server))
    assert connected.code == 0, connected.err
    device_id = other.config().credentials(server.url).device_id  # type: ignore[union-attr]
    assert device_id

    assert admin_cli("authorized-device", "lock", device_id[:8]).code == 0
    unlocked = admin_cli("authorized-device", "unlock", device_id[:8])
    assert unlocked.code == 0, unlocked.err
    assert "Unlocked device" in unlocked.out

    unknown = admin_cli("authorized-device", "describe", "zzzz")
    assert one_error_line(unknown) and "no device id starts with" in unknown.err

    kept = admin_cli("authorized-device", "delete", device_id[:8], stdin="n\n")
    assert kept.code == 1 and "not deleted" in kept.err
    deleted = admin_cli("authorized-device", "delete", device_id[:8], "--yes")
    assert deleted.code == 0, deleted.err
    assert f"Deleted device {device_id}" in deleted.out
    gone = admin_cli("authorized-device", "describe", device_id)
    assert one_error_line(gone)


def test_logout_asks_the_server_to_revoke_and_forgets(cli: Cli, server: Server) -> None:
    """logout sends the token to /api/v1/revoke (RFC 7009), reports it, forgets the server."""
    cli.config().store(
        server.url,
        Credentials(kind="password", username="admin", password=server.admin_password),
    )
    assert cli("status").code == 0
    result = cli("logout")
    assert result.code == 0, result.err
    assert f"Revoked the token and forgot the credentials for {server.url}." in result.out
    assert result.err == ""
    assert cli.config().credentials(server.url) is None
    assert cli.config().active_url is None


def test_disconnect_with_an_api_key_revokes_its_token_and_says_the_key_stays(
    cli: Cli, server: Server
) -> None:
    """disconnect after an API-key login revokes the token it holds (refused afterwards) and
    says honestly that the key itself still works."""
    admin = server.admin_token()
    status, _ = server.api(
        "POST", "/api/v1/service_accounts", token=admin, body={"name": "ci-disconnect"}
    )
    assert status == 201
    status, key = server.api(
        "POST",
        "/api/v1/service_accounts/ci-disconnect/api_keys",
        token=admin,
        body={"name": "k1"},
    )
    assert status == 201
    secret = key["key"]
    assert cli("connect", "--url", server.url, "--api-key", secret).code == 0
    token = cli.config().credentials(server.url).access_token  # type: ignore[union-attr]
    result = cli("disconnect")
    assert result.code == 0, result.err
    assert "Revoked the token" in result.out and "API key itself still works" in result.out
    assert server.api("GET", "/api/v1/current-user", token=token)[0] == 401
    assert server.api("GET", "/api/v1/current-user", token=secret)[0] == 200
