"""Accounts a team can live with: changing one's own password, deleting users, and never
losing the last admin (PUT /api/v1/current-user/password, DELETE /api/v1/users/{name})."""

from __future__ import annotations

from typing import Any

from tests.builders import ADMIN_PASSWORD, bearer, login, make_user
from tests.devices.builders import connect_device
from tests.openapi_check import checked
from zenml_server.http.keys import STORE

PASSWORD_PATH = "/api/v1/current-user/password"


async def _change(client: Any, token: str, old: str, new: str) -> Any:
    return await client.put(
        PASSWORD_PATH, json={"old_password": old, "new_password": new}, headers=bearer(token)
    )


async def _works(client: Any, token: str) -> bool:
    resp = await client.get("/api/v1/current-user", headers=bearer(token))
    return bool(resp.status == 200)


async def test_change_own_password_ends_other_tokens(client: Any, admin_token: str) -> None:
    """With the old password a user sets a new one; their other tokens and devices stop
    working, the answer carries a fresh token, and only the new password logs in."""
    await make_user(client, admin_token, "alice", "alice-password-1")
    alice = await login(client, "alice", "alice-password-1")
    other = await login(client, "alice", "alice-password-1")
    device = await connect_device(client, alice)
    body = await checked(await _change(client, alice, "alice-password-1", "alice-password-2"))
    assert body["user"]["name"] == "alice" and body["token_type"] == "bearer"
    assert await _works(client, body["access_token"])
    assert not await _works(client, other)
    assert not await _works(client, alice)
    assert not await _works(client, device.token)
    resp = await client.post(
        "/api/v1/login", data={"username": "alice", "password": "alice-password-1"}
    )
    assert resp.status == 400
    assert await login(client, "alice", "alice-password-2")


async def test_change_through_a_device_keeps_that_device(client: Any, admin_token: str) -> None:
    """Changed through a device token, the answer is a new token for the same device (same
    expiry at most); the user's other devices are logged out."""
    await make_user(client, admin_token, "alice", "alice-password-1")
    alice = await login(client, "alice", "alice-password-1")
    mine = await connect_device(client, alice)
    other = await connect_device(client, alice)
    body = await checked(await _change(client, mine.token, "alice-password-1", "alice-password-2"))
    assert body["device_id"] == mine.id and body["expires_in"] <= 24 * 3600
    me = await client.get("/api/v1/current-user", headers=bearer(body["access_token"]))
    assert (await me.json())["auth"]["device_id"] == mine.id
    assert not await _works(client, other.token)


async def test_wrong_old_password_changes_nothing(client: Any, admin_token: str) -> None:
    """A wrong current password is 403 and changes nothing; a short new one is 422; a
    service account has no password to change (403)."""
    resp = await _change(client, admin_token, "not-the-password", "whatever-new-1")
    assert resp.status == 403 and "current password" in (await checked(resp))["detail"]
    resp = await _change(client, admin_token, ADMIN_PASSWORD, "short")
    assert resp.status == 422
    await checked(resp)
    assert await _works(client, admin_token)
    resp = await client.put(PASSWORD_PATH, json={"old_password": "x"}, headers=bearer(admin_token))
    assert resp.status == 422
    assert (await client.put(PASSWORD_PATH, json={})).status == 401


async def test_guessing_the_old_password_is_rate_limited(client: Any, admin_token: str) -> None:
    """Guessing the current password through the change endpoint hits a 429."""
    statuses = [
        (await _change(client, admin_token, f"guess-{i}-xxxx", "whatever-new-1")).status
        for i in range(7)
    ]
    assert statuses[0] == 403 and statuses[-1] == 429


async def test_admin_deletes_a_user_with_devices_and_sessions(
    client: Any, admin_token: str
) -> None:
    """DELETE /api/v1/users/{name}: 204; the user, their devices and tokens are gone."""
    await make_user(client, admin_token, "bob", "bob-password-1")
    bob = await login(client, "bob", "bob-password-1")
    device = await connect_device(client, bob)
    resp = await client.delete("/api/v1/users/bob", headers=bearer(admin_token))
    assert resp.status == 204
    await checked(resp)
    assert not await _works(client, bob) and not await _works(client, device.token)
    assert await client.app[STORE].devices.get(device.id) is None
    resp = await client.get("/api/v1/users/bob", headers=bearer(admin_token))
    assert resp.status == 404
    resp = await client.delete("/api/v1/users/bob", headers=bearer(admin_token))
    assert resp.status == 404
    resp = await client.delete("/api/v1/users/admin", headers=bearer(bob))
    assert resp.status == 401


async def test_only_admins_delete_users(client: Any, admin_token: str) -> None:
    """A non-admin cannot delete anyone (403)."""
    await make_user(client, admin_token, "bob", "bob-password-1")
    bob = await login(client, "bob", "bob-password-1")
    resp = await client.delete("/api/v1/users/bob", headers=bearer(bob))
    assert resp.status == 403
    await checked(resp)


async def test_last_active_admin_is_kept(client: Any, admin_token: str) -> None:
    """The last active admin cannot be demoted, deactivated or deleted (403); with a second
    admin it can."""
    headers = bearer(admin_token)
    for change in ({"is_admin": False}, {"active": False}):
        resp = await client.put("/api/v1/users/admin", json=change, headers=headers)
        assert resp.status == 403 and "last active admin" in (await checked(resp))["detail"]
    resp = await client.delete("/api/v1/users/admin", headers=headers)
    assert resp.status == 403
    await checked(resp)
    assert await _works(client, admin_token)
    await make_user(client, admin_token, "root2", "root2-password", is_admin=True)
    resp = await client.put("/api/v1/users/admin", json={"is_admin": False}, headers=headers)
    assert resp.status == 200
    root2 = await login(client, "root2", "root2-password")
    resp = await client.put("/api/v1/users/root2", json={"active": False}, headers=bearer(root2))
    assert resp.status == 403
