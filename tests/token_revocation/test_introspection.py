"""Token introspection (RFC 7662): who may ask, what an active token says, and active:false
for anything that would be refused."""

from __future__ import annotations

from typing import Any

from tests.builders import bearer, login, make_user
from tests.device_flow.builders import device_token
from tests.service_accounts.builders import key_token, make_account_with_key
from zenml_server.domain.clock import ManualClock


async def introspect(client: Any, caller: str, token: str) -> tuple[int, dict[str, Any]]:
    resp = await client.post("/api/v1/introspect", data={"token": token}, headers=bearer(caller))
    body: dict[str, Any] = await resp.json()
    return resp.status, body


async def test_admin_sees_an_active_token_and_its_claims(client: Any, admin_token: str) -> None:
    """An admin asking about a live token gets active:true with the standard claims."""
    status, body = await introspect(client, admin_token, admin_token)
    assert status == 200 and body["active"] is True
    assert body["username"] == "admin" and body["kind"] == "user"
    assert body["token_type"] == "Bearer"
    assert {"sub", "exp", "iat", "iss", "jti"} <= body.keys()


async def test_revoked_expired_locked_and_unknown_are_inactive(
    client: Any, admin_token: str, clock: ManualClock
) -> None:
    """Revoked, locked-device, made-up and expired tokens are all {"active": false}."""
    revoked = await login(client, "admin", "admin-password-1")
    assert (await client.post("/api/v1/revoke", data={"token": revoked})).status == 200
    device = await device_token(client, admin_token)
    locked = await client.put(
        f"/api/v1/devices/{device['device_id']}", json={"locked": True}, headers=bearer(admin_token)
    )
    assert locked.status == 200, await locked.text()
    for token in (revoked, device["access_token"], "not-a-token"):
        assert await introspect(client, admin_token, token) == (200, {"active": False})
    expiring = await login(client, "admin", "admin-password-1")
    clock.advance(3599)
    fresh_admin = await login(client, "admin", "admin-password-1")
    clock.advance(2)
    assert await introspect(client, fresh_admin, expiring) == (200, {"active": False})


async def test_api_key_and_its_token_are_described(client: Any, admin_token: str) -> None:
    """A raw API key and a token made from it are active and name the service account."""
    account, secret = await make_account_with_key(client, admin_token)
    for credential in (secret, await key_token(client, secret)):
        status, body = await introspect(client, admin_token, credential)
        assert status == 200 and body["active"] is True
        assert body["sub"] == account["id"] and body["username"] == "ci"


async def test_only_admins_and_allowed_service_accounts_may_ask(
    make_client: Any, client: Any, admin_token: str
) -> None:
    """No credential: 401; a plain user or an unlisted service account: 403; a service
    account named in ZENML_SERVER_INTROSPECTION_SERVICE_ACCOUNTS: 200."""
    resp = await client.post("/api/v1/introspect", data={"token": admin_token})
    assert resp.status == 401 and (await resp.json())["error"] == "invalid_client"
    await make_user(client, admin_token, "bob", "bob-password-12")
    bob = await login(client, "bob", "bob-password-12")
    _, secret = await make_account_with_key(client, admin_token, "resource-server")
    for caller in (bob, secret):
        status, body = await introspect(client, caller, admin_token)
        assert status == 403 and body["error"] == "access_denied"
    allowed = await make_client(introspection_service_accounts=("resource-server",))
    status, body = await introspect(allowed, secret, admin_token)
    assert status == 200 and body["active"] is True


async def test_missing_token_is_invalid_request(client: Any, admin_token: str) -> None:
    """No token parameter: 400 invalid_request."""
    resp = await client.post("/api/v1/introspect", data={}, headers=bearer(admin_token))
    assert resp.status == 400 and (await resp.json())["error"] == "invalid_request"
