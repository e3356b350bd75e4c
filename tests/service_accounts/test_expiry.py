"""API key expiry: set at create and rotate, refused like an inactive key once past, listed,
and bounded by ZENML_SERVER_API_KEY_MAX_LIFETIME_DAYS when that is set."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.builders import bearer
from tests.service_accounts.builders import (
    BASE,
    key_login,
    key_token,
    make_account,
    make_key,
    whoami,
)
from zenml_server.domain.clock import ManualClock, isoformat

DAY = 86400.0


def at(clock: ManualClock, seconds: float) -> str:
    when = isoformat(clock.now() + seconds)
    assert when is not None
    return when


async def test_expired_key_and_its_tokens_are_refused(
    client: Any, admin_token: str, clock: ManualClock
) -> None:
    """A key with expires_at works until then; afterwards the key, its login and the tokens
    made from it are refused like an inactive key's, and a token never outlives its key."""
    await make_account(client, admin_token)
    key = await make_key(client, admin_token, expires_at=at(clock, 1800))
    assert key["expires_at"] == at(clock, 1800)
    token_resp = await key_login(client, key["key"])
    assert (await token_resp.json())["expires_in"] <= 1800
    token = await key_token(client, key["key"])
    assert await whoami(client, key["key"]) == 200 and await whoami(client, token) == 200
    clock.advance(1800)
    assert await whoami(client, key["key"]) == 401 and await whoami(client, token) == 401
    assert (await key_login(client, key["key"])).status == 400


async def test_rotation_sets_the_new_expiry(
    client: Any, admin_token: str, clock: ManualClock
) -> None:
    """Rotating with expires_at gives the new secret that expiry; without it, none."""
    await make_account(client, admin_token)
    await make_key(client, admin_token, expires_at=at(clock, DAY))
    path = f"{BASE}/ci/api_keys/default/rotate"
    resp = await client.put(
        path, json={"expires_at": at(clock, 90 * DAY)}, headers=bearer(admin_token)
    )
    assert resp.status == 200 and (await resp.json())["expires_at"] == at(clock, 90 * DAY)
    resp = await client.put(path, json={}, headers=bearer(admin_token))
    assert resp.status == 200 and (await resp.json())["expires_at"] is None


async def test_listing_shows_expiry(client: Any, admin_token: str, clock: ManualClock) -> None:
    """GET of the keys shows each key's expires_at (null when it never expires)."""
    await make_account(client, admin_token)
    await make_key(client, admin_token, name="short", expires_at=at(clock, DAY))
    await make_key(client, admin_token, name="forever")
    resp = await client.get(f"{BASE}/ci/api_keys", headers=bearer(admin_token))
    found = {k["name"]: k["expires_at"] for k in (await resp.json())["items"]}
    assert found == {"short": at(clock, DAY), "forever": None}


async def test_bad_expiry_is_422_and_creates_nothing(
    client: Any, admin_token: str, clock: ManualClock
) -> None:
    """A past, zone-less or malformed expires_at is 422 and no key is made."""
    await make_account(client, admin_token)
    naive = datetime.fromtimestamp(clock.now() + DAY, UTC).replace(tzinfo=None).isoformat()
    for bad in (at(clock, -1), naive, "next tuesday", 12345, "9" * 100):
        resp = await client.post(
            f"{BASE}/ci/api_keys",
            json={"name": "k", "expires_at": bad},
            headers=bearer(admin_token),
        )
        assert resp.status == 422, (bad, await resp.text())
    resp = await client.get(f"{BASE}/ci/api_keys", headers=bearer(admin_token))
    assert (await resp.json())["total"] == 0


async def test_max_lifetime_refuses_keys_without_or_past_it(
    make_client: Any, admin_token: str, clock: ManualClock
) -> None:
    """With ZENML_SERVER_API_KEY_MAX_LIFETIME_DAYS, a key without an expiry or past the
    maximum is refused (create and rotate); one within it is made."""
    capped = await make_client(api_key_max_lifetime_days=90)
    await make_account(capped, admin_token)
    for body in ({"name": "k"}, {"name": "k", "expires_at": at(clock, 91 * DAY)}):
        resp = await capped.post(f"{BASE}/ci/api_keys", json=body, headers=bearer(admin_token))
        assert resp.status == 422 and "90 days" in (await resp.json())["detail"]
    await make_key(capped, admin_token, name="k", expires_at=at(clock, 90 * DAY))
    resp = await capped.put(f"{BASE}/ci/api_keys/k/rotate", json={}, headers=bearer(admin_token))
    assert resp.status == 422


async def test_max_lifetime_rotate_within_it_works_and_past_it_changes_nothing(
    make_client: Any, admin_token: str, clock: ManualClock
) -> None:
    """With a maximum, rotating with an expires_at past it (or none) is 422 and leaves the
    old key working, its expiry as it was and no audit row; one within it rotates, and the
    old key keeps working for the retain period only."""
    capped = await make_client(api_key_max_lifetime_days=90)
    await make_account(capped, admin_token)
    old = await make_key(capped, admin_token, name="k", expires_at=at(clock, DAY))
    path = f"{BASE}/ci/api_keys/k/rotate"
    for body in (
        {"retain_period_minutes": 5},
        {"retain_period_minutes": 5, "expires_at": at(clock, 90 * DAY + 1)},
        {"retain_period_minutes": 5, "expires_at": at(clock, 0)},
    ):
        resp = await capped.put(path, json=body, headers=bearer(admin_token))
        assert resp.status == 422, (body, await resp.text())
    assert await whoami(capped, old["key"]) == 200
    described = await capped.get(f"{BASE}/ci/api_keys/k", headers=bearer(admin_token))
    assert (await described.json())["expires_at"] == at(clock, DAY)
    audit = await capped.get(
        "/api/v1/audit", params={"action": "api_key.rotated"}, headers=bearer(admin_token)
    )
    assert (await audit.json())["items"] == []
    body = {"retain_period_minutes": 5, "expires_at": at(clock, 30 * DAY)}
    resp = await capped.put(path, json=body, headers=bearer(admin_token))
    assert resp.status == 200, await resp.text()
    new = await resp.json()
    assert new["expires_at"] == at(clock, 30 * DAY)
    assert await whoami(capped, new["key"]) == 200 and await whoami(capped, old["key"]) == 200
    clock.advance(5 * 60)
    assert await whoami(capped, old["key"]) == 401 and await whoami(capped, new["key"]) == 200
