"""The audit trail: rows written with their change, who/what/where, filters and cursor,
retention, and never a secret."""

from __future__ import annotations

from typing import Any

from tests.builders import ADMIN_PASSWORD, bearer, login, make_user
from tests.device_flow.builders import approve, poll, start
from tests.service_accounts.builders import (
    BASE,
    key_token,
    make_account,
    make_key,
    rotate,
)
from zenml_server.domain.clock import ManualClock, isoformat
from zenml_server.http.keys import SERVICES, STORE

DAY = 86400.0


async def events(client: Any, token: str, **params: str) -> list[dict[str, Any]]:
    resp = await client.get("/api/v1/audit", params=params, headers=bearer(token))
    assert resp.status == 200, await resp.text()
    items: list[dict[str, Any]] = (await resp.json())["items"]
    return items


async def test_changes_are_recorded_with_who_where_and_which_request(
    client: Any, admin_token: str
) -> None:
    """Creating, rotating, deactivating and deleting a key are recorded newest first, by the
    admin through a token, with the client address and the response's request id."""
    await make_account(client, admin_token)
    await make_key(client, admin_token)
    await rotate(client, admin_token, "ci", "default", retain=5)
    resp = await client.put(
        f"{BASE}/ci/api_keys/default", json={"active": False}, headers=bearer(admin_token)
    )
    request_id = resp.headers["X-Request-ID"]
    resp = await client.delete(f"{BASE}/ci", headers=bearer(admin_token))
    assert resp.status == 204
    found = await events(client, admin_token, action="api_key.")
    assert [e["action"] for e in found] == [
        "api_key.deactivated",
        "api_key.rotated",
        "api_key.created",
    ]
    deactivated = found[0]
    assert deactivated["request_id"] == request_id
    assert deactivated["actor"]["name"] == "admin" and deactivated["actor"]["kind"] == "user"
    assert deactivated["target"]["name"] == "ci/default"
    assert deactivated["client_ip"] == "127.0.0.1"
    assert found[1]["detail"]["retain_period_minutes"] == 5
    assert (await events(client, admin_token, limit="1"))[0]["action"] == (
        "service_account.deleted"
    )


async def test_a_refused_change_writes_no_row(client: Any, admin_token: str) -> None:
    """A create that fails (name taken) leaves no audit row: the row commits with the change."""
    await make_account(client, admin_token)
    resp = await client.post(BASE, json={"name": "ci"}, headers=bearer(admin_token))
    assert resp.status == 409
    created = await events(client, admin_token, action="service_account.created")
    assert len(created) == 1


async def test_failed_logins_are_queued_not_written_per_attempt(
    client: Any, admin_token: str
) -> None:
    """Failed password logins are recorded, by kind and outcome, from a queue flushed in one
    batch (no write per attempt)."""
    store = client.app[STORE]
    for _ in range(3):
        resp = await client.post("/api/v1/login", data={"username": "admin", "password": "no"})
        assert resp.status == 400
    assert (
        await store.db.fetchval("SELECT count(*) FROM audit_events WHERE action = 'login.password'")
        == 0
    )
    found = await events(client, admin_token, action="login.password")
    outcomes = [e["outcome"] for e in found]
    assert outcomes.count("failure") == 3 and outcomes.count("success") == 1


async def test_filters_time_range_and_cursor_pagination(
    client: Any, admin_token: str, clock: ManualClock
) -> None:
    """actor, target and time filters narrow the list; the cursor walks it page by page."""
    for n in range(5):
        await make_account(client, admin_token, f"acct{n}")
        clock.advance(10)
    seen, cursor = [], None
    while True:
        params = {"action": "service_account.created", "limit": "2"}
        if cursor:
            params["cursor"] = cursor
        resp = await client.get("/api/v1/audit", params=params, headers=bearer(admin_token))
        body = await resp.json()
        seen += [e["target"]["name"] for e in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"acct{n}" for n in reversed(range(5))]
    assert [e["target"]["name"] for e in await events(client, admin_token, target="acct2")] == [
        "acct2"
    ]
    assert len(await events(client, admin_token, actor="admin")) >= 5
    assert await events(client, admin_token, actor="nobody") == []
    middle = await events(
        client,
        admin_token,
        action="service_account.created",
        since="2027-01-15T08:00:10Z",
        until="2027-01-15T08:00:30Z",
    )
    assert [e["target"]["name"] for e in middle] == ["acct2", "acct1"]


async def test_only_admins_and_bad_parameters(client: Any, admin_token: str) -> None:
    """A non-admin gets 403; malformed filters get 422 with the API error shape."""
    await make_user(client, admin_token, "bob", "bob-password-12")
    bob = await login(client, "bob", "bob-password-12")
    resp = await client.get("/api/v1/audit", headers=bearer(bob))
    assert resp.status == 403
    for params, reason in (
        ({"limit": "0"}, "'limit'"),
        ({"since": "yesterday"}, "'since' must be an ISO 8601 date-time"),
        ({"cursor": "%%%"}, "cursor"),
        ({"until": "2027-01-01"}, "'until' needs a time zone"),
    ):
        resp = await client.get("/api/v1/audit", params=params, headers=bearer(admin_token))
        assert resp.status == 422, params
        body = await resp.json()
        assert body["error"] == "validation_error"
        assert reason in body["detail"], (params, body)


async def test_retention_prunes_old_rows(client: Any, admin_token: str, clock: ManualClock) -> None:
    """Rows older than ZENML_SERVER_AUDIT_RETENTION_DAYS are removed by housekeeping."""
    await make_account(client, admin_token)
    clock.advance(366 * DAY)
    removed = await client.app[SERVICES].wiring.housekeeping.sweep()
    assert removed["audit_events"] >= 1
    assert await client.app[STORE].db.fetchval("SELECT count(*) FROM audit_events") == 0


async def test_no_secret_ever_reaches_the_table(client: Any, admin_token: str) -> None:
    """After a full run (keys made and rotated, key and password logins, a device login,
    revocations) no key, code, token or password appears anywhere in the audit table."""
    secrets = [admin_token, ADMIN_PASSWORD]
    await make_account(client, admin_token)
    key = await make_key(client, admin_token)
    secrets.append(key["key"])
    secrets.append((await rotate(client, admin_token, "ci", "default", retain=5))["key"])
    secrets.append(await key_token(client, secrets[-1]))
    secrets.append(await login(client, "admin", ADMIN_PASSWORD))
    authorization = await start(client)
    assert (await approve(client, admin_token, authorization)).status == 200
    device = await (await poll(client, authorization)).json()
    secrets += [device["access_token"], authorization["device_code"], authorization["user_code"]]
    for token in (secrets[-4], device["access_token"]):
        await client.post("/api/v1/revoke", data={"token": token})
    await client.post("/api/v1/login", data={"username": "admin", "password": "wrong-guess-1"})
    secrets.append("wrong-guess-1")
    await client.app[SERVICES].wiring.audit.flush()
    rows = await client.app[STORE].db.fetch("SELECT * FROM audit_events")
    assert len(rows) >= 8
    dump = "\n".join(repr(dict(r)) for r in rows)
    for secret in filter(None, secrets):
        assert secret not in dump
    actions = {r["action"] for r in rows}
    assert {"token.revoked", "device.revoked", "device.approved", "device.authorized"} <= actions


async def test_key_expiry_is_recorded_once_by_housekeeping(
    client: Any, admin_token: str, clock: ManualClock
) -> None:
    """When an API key's expiry passes, housekeeping records api_key.expired once, as the
    server (system), and never again for that key."""
    await make_account(client, admin_token)
    expires = clock.now() + 60
    await make_key(client, admin_token, expires_at=isoformat(expires))
    housekeeping = client.app[SERVICES].wiring.housekeeping
    assert (await housekeeping.sweep())["api_key_expiries"] == 0
    clock.advance(61)
    assert (await housekeeping.sweep())["api_key_expiries"] == 1
    assert (await housekeeping.sweep())["api_key_expiries"] == 0
    found = await events(client, admin_token, action="api_key.expired")
    assert len(found) == 1 and found[0]["target"]["name"] == "ci/default"
    assert found[0]["actor"]["kind"] == "system"


async def test_device_locked_by_wrong_codes_is_recorded(client: Any, admin_token: str) -> None:
    """A login locked after too many wrong codes gets a device.locked row with the reason."""
    authorization = await start(client)
    for _ in range(5):
        await approve(client, admin_token, authorization, user_code="BBBB-BBBB")
    found = await events(client, admin_token, action="device.locked")
    assert len(found) == 1 and found[0]["detail"] == {"reason": "wrong_codes"}
    assert authorization["user_code"] not in repr(found)


async def test_signing_key_rotation_is_recorded(make_client: Any) -> None:
    """Rotating the signing key (as `zenml-server keys rotate` does) writes signing_key.rotated
    by the server's console, naming the new and the previous key."""
    client = await make_client(jwt_secret_key=None)
    admin = await login(client, "admin", ADMIN_PASSWORD)
    new, previous = await client.app[SERVICES].signing_keys.rotate()
    assert previous is not None
    found = await events(client, admin, action="signing_key.rotated")
    assert len(found) == 1 and found[0]["target"]["id"] == new.kid
    assert found[0]["detail"] == {"previous": previous.kid}
    assert found[0]["actor"] == {
        "kind": "system",
        "id": None,
        "name": None,
        "credential": "console",
    }


async def test_user_deletion_is_recorded(client: Any, admin_token: str) -> None:
    """Deleting a user writes user.deleted in the same transaction, naming the user."""
    user = await make_user(client, admin_token, "leaving", "leaving-password-1")
    resp = await client.delete(f"/api/v1/users/{user['id']}", headers=bearer(admin_token))
    assert resp.status == 204, await resp.text()
    found = await events(client, admin_token, action="user.")
    assert [e["action"] for e in found] == ["user.deleted", "user.created"]
    assert found[0]["target"] == {"kind": "user", "id": user["id"], "name": "leaving"}
