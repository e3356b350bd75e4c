"""An expired code is reported as expired, not as a wrong code, for a day after housekeeping
deleted its authorization (a tombstone of the code's digest), then forgotten."""

from __future__ import annotations

from typing import Any

from tests.builders import ADMIN_PASSWORD, bearer, login
from tests.device_flow.builders import page_login, start
from tests.device_flow.test_storage import NOW, make_device
from zenml_server.domain.clock import ManualClock
from zenml_server.domain.secrets import digest, new_token, new_user_code
from zenml_server.http.keys import CLOCK, SERVICES
from zenml_server.storage.devices import DeviceMetadata
from zenml_server.storage.store import Store

DAY = 24 * 3600


async def _approve_by_code(client: Any, token: str, user_code: str) -> Any:
    return await client.post(
        "/api/v1/devices/verify",
        json={"user_code": user_code, "trusted_device": False},
        headers=bearer(token),
    )


async def _sweep(client: Any) -> dict[str, int]:
    removed: dict[str, int] = await client.app[SERVICES].wiring.housekeeping.sweep()
    return removed


async def test_expired_and_pruned_code_is_still_reported_expired(
    client: Any, admin_token: str
) -> None:
    """After housekeeping deleted an expired authorization, its code is 'expired' (400), not
    'not right' (404), and the approval page says to run zenml connect again."""
    authorization = await start(client)
    clock: ManualClock = client.app[CLOCK]
    clock.advance(301)
    assert (await _sweep(client))["device_authorizations"] == 1
    resp = await _approve_by_code(client, admin_token, authorization["user_code"])
    assert resp.status == 400, await resp.text()
    assert "expired" in (await resp.json())["detail"]
    await page_login(client)
    page = await client.get(f"/devices/verify?user_code={authorization['user_code']}")
    html = await page.text()
    assert "This code has expired" in html and "zenml connect" in html
    assert "not right" not in html


async def test_tombstone_is_forgotten_after_a_day(client: Any, admin_token: str) -> None:
    """A day after the code expired, the sweep drops its tombstone: the code is unknown."""
    authorization = await start(client)
    clock: ManualClock = client.app[CLOCK]
    clock.advance(301)
    await _sweep(client)
    clock.advance(DAY)
    await _sweep(client)
    fresh_token = await login(client, "admin", ADMIN_PASSWORD)  # the first one expired too
    resp = await _approve_by_code(client, fresh_token, authorization["user_code"])
    assert resp.status == 404, await resp.text()


async def test_prune_keeps_a_tombstone_per_deleted_code(store: Store) -> None:
    """prune records the deleted codes' digests until ``remember`` seconds after expiry, and
    deletes them after that; a live or approved authorization leaves none."""
    old = await make_device(store, lifetime=10)
    fresh_code = new_user_code()
    await store.devices.create_authorization(
        client_id=old.client_id,
        device_code_digest=digest(new_token()),
        user_code_digest=digest(fresh_code),
        expires=NOW + 1000,
        interval=5,
        metadata=DeviceMetadata(),
        now=NOW,
    )
    row = await store.db.fetchrow("SELECT user_code_digest FROM devices WHERE id = $1", old.id)
    assert row is not None
    old_digest = row["user_code_digest"]
    assert await store.devices.prune_expired_authorizations(NOW + 20, remember=100) == 1
    assert await store.devices.code_expired(old_digest, NOW + 20)
    assert not await store.devices.code_expired(digest(fresh_code), NOW + 20)
    assert await store.devices.prune_expired_authorizations(NOW + 110, remember=100) == 0
    assert not await store.devices.code_expired(old_digest, NOW + 20)
