"""GET/PUT/DELETE /api/v1/devices: ownership, filters, and the effect on the device's token."""

from __future__ import annotations

import uuid
from typing import Any

from tests.builders import bearer, login, make_user
from tests.devices.builders import connect_device
from tests.openapi_check import checked
from zenml_server.domain.clock import ManualClock, isoformat
from zenml_server.http.keys import SERVICES, STORE


async def _alice(client: Any, admin_token: str) -> str:
    await make_user(client, admin_token, "alice", "alice-password-1")
    return await login(client, "alice", "alice-password-1")


async def test_list_shows_own_devices_newest_first(
    client: Any, admin_token: str, clock: ManualClock
) -> None:
    """A user lists their own devices, newest first, with the documented fields."""
    alice = await _alice(client, admin_token)
    first = await connect_device(client, alice, hostname="first")
    clock.advance(10)
    second = await connect_device(client, alice, trusted=True, hostname="second")
    await connect_device(client, admin_token, hostname="admins")
    resp = await client.get("/api/v1/devices", headers=bearer(alice))
    body = await checked(resp)
    assert [d["id"] for d in body["items"]] == [second.id, first.id]
    assert body["total"] == 2 and body["page"] == 1
    newest = body["items"][0]
    assert newest["hostname"] == "second" and newest["trusted_device"] is True
    assert newest["status"] == "active" and newest["user"]["name"] == "alice"


async def test_filters_and_pagination(client: Any, admin_token: str, clock: ManualClock) -> None:
    """status, trusted_device, page and size narrow the list; total counts all matches."""
    alice = await _alice(client, admin_token)
    for trusted in (True, False, False):
        await connect_device(client, alice, trusted=trusted)
        clock.advance(1)
    trusted = await checked(
        await client.get("/api/v1/devices?trusted_device=true", headers=bearer(alice))
    )
    assert trusted["total"] == 1
    page2 = await checked(await client.get("/api/v1/devices?page=2&size=2", headers=bearer(alice)))
    assert page2["total"] == 3 and len(page2["items"]) == 1
    locked = await checked(await client.get("/api/v1/devices?status=locked", headers=bearer(alice)))
    assert locked["total"] == 0
    bad = await client.get("/api/v1/devices?status=sleepy", headers=bearer(alice))
    assert bad.status == 422
    await checked(bad)


async def test_admin_may_list_one_user_or_everyone(client: Any, admin_token: str) -> None:
    """An admin lists another user's devices with ?user= and everyone's with ?all=true."""
    alice = await _alice(client, admin_token)
    await connect_device(client, alice)
    await connect_device(client, admin_token)
    own = await checked(await client.get("/api/v1/devices", headers=bearer(admin_token)))
    assert own["total"] == 1
    hers = await checked(
        await client.get("/api/v1/devices?user=alice", headers=bearer(admin_token))
    )
    assert hers["total"] == 1 and hers["items"][0]["user"]["name"] == "alice"
    everyone = await checked(
        await client.get("/api/v1/devices?all=true", headers=bearer(admin_token))
    )
    assert everyone["total"] == 2
    ignored = await checked(await client.get("/api/v1/devices?all=true", headers=bearer(alice)))
    assert ignored["total"] == 1


async def test_someone_elses_device_is_not_found(client: Any, admin_token: str) -> None:
    """Another user's device answers 404 to get, lock and delete, and stays as it was."""
    alice = await _alice(client, admin_token)
    await make_user(client, admin_token, "bob", "bob-password-1")
    bob = await login(client, "bob", "bob-password-1")
    device = await connect_device(client, alice)
    for method, kwargs in (("get", {}), ("put", {"json": {"locked": True}}), ("delete", {})):
        resp = await getattr(client, method)(
            f"/api/v1/devices/{device.id}", headers=bearer(bob), **kwargs
        )
        assert resp.status == 404
        await checked(resp)
    unknown = await client.get("/api/v1/devices/no-such-id", headers=bearer(bob))
    assert (await unknown.json())["detail"] == (await resp.json())["detail"]
    assert (await client.get("/api/v1/current-user", headers=bearer(device.token))).status == 200


async def test_lock_refuses_token_on_next_request_and_unlock_restores(
    client: Any, admin_token: str
) -> None:
    """A lock refuses the device's token on the very next request; unlock lets it in again."""
    alice = await _alice(client, admin_token)
    device = await connect_device(client, alice)
    me = bearer(device.token)
    assert (await client.get("/api/v1/current-user", headers=me)).status == 200
    resp = await client.put(f"/api/v1/devices/{device.id}", json={"locked": True}, headers=me)
    assert (await checked(resp))["status"] == "locked"
    assert (await client.get("/api/v1/current-user", headers=me)).status == 401
    resp = await client.put(
        f"/api/v1/devices/{device.id}", json={"locked": False}, headers=bearer(alice)
    )
    assert (await checked(resp))["status"] == "active"
    assert (await client.get("/api/v1/current-user", headers=me)).status == 200


async def test_delete_refuses_token(client: Any, admin_token: str) -> None:
    """A deleted device's token is refused at once and the device is gone."""
    alice = await _alice(client, admin_token)
    device = await connect_device(client, alice)
    resp = await client.delete(f"/api/v1/devices/{device.id}", headers=bearer(alice))
    assert resp.status == 200
    await checked(resp)
    me = bearer(device.token)
    assert (await client.get("/api/v1/current-user", headers=me)).status == 401
    gone = await client.get(f"/api/v1/devices/{device.id}", headers=bearer(alice))
    assert gone.status == 404


async def test_unlocking_a_never_approved_device_does_not_make_it_usable(
    client: Any, admin_token: str
) -> None:
    """A pending authorization locked and then unlocked is still only pending."""
    alice = await _alice(client, admin_token)
    client_id = str(uuid.uuid4())
    resp = await client.post("/api/v1/device_authorization", data={"client_id": client_id})
    auth = await resp.json()
    device_id = auth["verification_uri_complete"].split("device_id=")[1].split("&")[0]
    # The pending device belongs to nobody yet: only an admin can see it.
    for locked in (True, False):
        resp = await client.put(
            f"/api/v1/devices/{device_id}", json={"locked": locked}, headers=bearer(admin_token)
        )
        assert resp.status == 200
    assert (await resp.json())["status"] == "pending"
    poll = await client.post(
        "/api/v1/login",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "client_id": client_id,
            "device_code": auth["device_code"],
        },
    )
    assert (await poll.json())["error"] == "authorization_pending"
    hidden = await client.get(f"/api/v1/devices/{device_id}", headers=bearer(alice))
    assert hidden.status == 404


async def test_bad_update_bodies_are_refused(client: Any, admin_token: str) -> None:
    """Unknown fields, a missing or non-boolean ``locked`` answer 422 and change nothing."""
    alice = await _alice(client, admin_token)
    device = await connect_device(client, alice)
    for body in ({}, {"locked": "yes"}, {"locked": True, "status": "active"}):
        resp = await client.put(f"/api/v1/devices/{device.id}", json=body, headers=bearer(alice))
        assert resp.status == 422
        await checked(resp)
    after = await (await client.get(f"/api/v1/devices/{device.id}", headers=bearer(alice))).json()
    assert after["status"] == "active"


async def test_last_used_is_tracked_without_a_write_per_request(
    client: Any, admin_token: str, clock: ManualClock
) -> None:
    """last_login follows use at once in the API, while the row is written only in batches."""
    alice = await _alice(client, admin_token)
    device = await connect_device(client, alice)
    store = client.app[STORE]
    stored_before = await store.db.fetchval(
        "SELECT last_login FROM devices WHERE id = $1", device.id
    )
    clock.advance(120)
    assert (await client.get("/api/v1/current-user", headers=bearer(device.token))).status == 200
    shown = await (await client.get(f"/api/v1/devices/{device.id}", headers=bearer(alice))).json()
    stored = await store.db.fetchval("SELECT last_login FROM devices WHERE id = $1", device.id)
    assert stored == stored_before, "no write on the request path"
    assert shown["last_login"] == isoformat(clock.now()) != isoformat(stored_before)
    await client.app[SERVICES].wiring.last_used.flush()
    flushed = await store.db.fetchval("SELECT last_login FROM devices WHERE id = $1", device.id)
    assert flushed == clock.now()


async def test_password_change_ends_device_tokens(client: Any, admin_token: str) -> None:
    """A new password for the owner refuses every device token they hold, on the next request."""
    alice = await _alice(client, admin_token)
    device = await connect_device(client, alice)
    me = bearer(device.token)
    assert (await client.get("/api/v1/current-user", headers=me)).status == 200
    resp = await client.put(
        "/api/v1/users/alice", json={"password": "alice-password-2"}, headers=bearer(admin_token)
    )
    assert resp.status == 200
    assert (await client.get("/api/v1/current-user", headers=me)).status == 401
