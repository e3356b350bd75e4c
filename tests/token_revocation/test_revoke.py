"""RFC 7009 revocation of any token by its jti, spread to every process, pruned after exp."""

from __future__ import annotations

from typing import Any

from tests.builders import ADMIN_PASSWORD, bearer, login, make_user
from tests.device_flow.builders import device_token
from tests.service_accounts.builders import key_token, make_account_with_key, whoami
from zenml_server.domain.clock import ManualClock
from zenml_server.http.keys import SERVICES, STORE
from zenml_server.services.token_revocation import RevokedTokens


async def revoke(client: Any, token: str, **headers: str) -> None:
    resp = await client.post("/api/v1/revoke", data={"token": token}, headers=headers)
    assert resp.status == 200, await resp.text()
    assert resp.headers["Cache-Control"] == "no-store"


async def test_password_login_token_is_revoked(client: Any, admin_token: str) -> None:
    """A password-login token revoked through /api/v1/revoke is refused at once."""
    assert await whoami(client, admin_token) == 200
    await revoke(client, admin_token)
    assert await whoami(client, admin_token) == 401


async def test_revoking_one_token_leaves_the_others(client: Any, admin_token: str) -> None:
    """Only the revoked jti stops working; the same user's other token goes on."""
    other = await login(client, "admin", ADMIN_PASSWORD)
    await revoke(client, admin_token)
    assert await whoami(client, other) == 200


async def test_api_key_token_is_revoked_but_the_key_is_not(client: Any, admin_token: str) -> None:
    """A token made from an API key is revoked; the key itself (not a token) keeps working."""
    _, secret = await make_account_with_key(client, admin_token)
    token = await key_token(client, secret)
    await revoke(client, token)
    assert await whoami(client, token) == 401
    await revoke(client, secret)
    assert await whoami(client, secret) == 200


async def test_device_token_still_revokes_its_device(client: Any, admin_token: str) -> None:
    """A device token revokes its device, as before."""
    body = await device_token(client, admin_token)
    await revoke(client, body["access_token"])
    assert await whoami(client, body["access_token"]) == 401
    assert await client.app[STORE].devices.get(body["device_id"]) is None


async def test_another_users_token_is_200_and_changes_nothing(
    client: Any, admin_token: str
) -> None:
    """RFC 7009 §2.2: revoking someone else's token while authenticated answers 200 and the
    token keeps working (the caller is not its owner)."""
    await make_user(client, admin_token, "mallory", "mallory-password-1")
    mallory = await login(client, "mallory", "mallory-password-1")
    await revoke(client, admin_token, **bearer(mallory))
    assert await whoami(client, admin_token) == 200
    device = await device_token(client, admin_token)
    await revoke(client, device["access_token"], **bearer(mallory))
    assert await whoami(client, device["access_token"]) == 200


async def test_a_process_started_later_loads_revocations(
    make_client: Any, admin_token: str, client: Any
) -> None:
    """A process that starts after a revocation refuses the token (the set is loaded at start)."""
    await revoke(client, admin_token)
    later = await make_client()
    assert await whoami(later, admin_token) == 401


async def test_revocations_are_pruned_after_expiry(
    client: Any, admin_token: str, clock: ManualClock
) -> None:
    """Once the revoked token has expired its row and its memory entry are swept away."""
    await revoke(client, admin_token)
    store = client.app[STORE]
    assert len(await store.revoked_tokens.unexpired(clock.now())) == 1
    clock.advance(client.app[SERVICES].wiring.settings.jwt_token_expire_minutes * 60 + 1)
    removed = await client.app[SERVICES].wiring.housekeeping.sweep()
    assert removed["revoked_tokens"] == 1
    assert await store.revoked_tokens.unexpired(0.0) == []


async def test_revoked_set_is_memory_only_on_requests(client: Any, admin_token: str) -> None:
    """The check is a membership test on the per-process set (no query per request)."""
    revoked = client.app[SERVICES].token_revocation._revoked
    assert isinstance(revoked, RevokedTokens) and len(revoked) == 0
    await revoke(client, admin_token)
    assert len(revoked) == 1


async def test_revoke_with_a_bad_bearer_is_invalid_client(client: Any, admin_token: str) -> None:
    """An Authorization header that does not authenticate: 401 invalid_client, nothing revoked."""
    resp = await client.post(
        "/api/v1/revoke", data={"token": admin_token}, headers=bearer("not-a-token")
    )
    assert resp.status == 401 and (await resp.json())["error"] == "invalid_client"
    assert await whoami(client, admin_token) == 200
