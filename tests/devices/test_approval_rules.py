"""A stolen device token cannot renew itself or outlive a lock: who may approve what, the
lock cascade to approved devices, and who may lift a lock."""

from __future__ import annotations

import uuid
from typing import Any

from tests.builders import bearer, login, make_user
from tests.devices.builders import USER_AGENT, connect_device
from tests.openapi_check import checked
from zenml_server.domain.clock import ManualClock

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


async def _alice(client: Any, admin_token: str) -> str:
    await make_user(client, admin_token, "alice", "alice-password-1")
    return await login(client, "alice", "alice-password-1")


async def _start(client: Any) -> dict[str, Any]:
    client_id = str(uuid.uuid4())
    resp = await client.post(
        "/api/v1/device_authorization",
        data={"client_id": client_id},
        headers={"User-Agent": USER_AGENT},
    )
    assert resp.status == 200, await resp.text()
    body: dict[str, Any] = await resp.json()
    body["client_id"] = client_id
    return body


async def _verify(client: Any, token: str, auth: dict[str, Any], *, trusted: bool) -> Any:
    return await client.post(
        "/api/v1/devices/verify",
        json={"user_code": auth["user_code"], "trusted_device": trusted},
        headers=bearer(token),
    )


async def _poll(client: Any, auth: dict[str, Any]) -> Any:
    return await client.post(
        "/api/v1/login",
        data={
            "grant_type": DEVICE_GRANT,
            "client_id": auth["client_id"],
            "device_code": auth["device_code"],
        },
    )


async def _lock(client: Any, token: str, device_id: str, locked: bool = True) -> Any:
    return await client.put(
        f"/api/v1/devices/{device_id}", json={"locked": locked}, headers=bearer(token)
    )


async def test_untrusted_device_token_cannot_approve_a_trusted_device(
    client: Any, admin_token: str
) -> None:
    """The reported request: a 24 h device token asking for a trusted (30-day) device is 403,
    and the request stays pending."""
    alice = await _alice(client, admin_token)
    stolen = await connect_device(client, alice)
    auth = await _start(client)
    resp = await _verify(client, stolen.token, auth, trusted=True)
    assert resp.status == 403
    assert "untrusted device cannot approve a trusted device" in (await checked(resp))["detail"]
    assert (await (await _poll(client, auth)).json())["error"] == "authorization_pending"


async def test_trusted_device_token_may_approve_a_trusted_device(
    client: Any, admin_token: str
) -> None:
    """A trusted device approved first hand may approve a trusted device; the new device
    records which device approved it and how."""
    alice = await _alice(client, admin_token)
    trusted = await connect_device(client, alice, trusted=True)
    auth = await _start(client)
    body = await checked(await _verify(client, trusted.token, auth, trusted=True))
    assert body["trusted_device"] is True
    assert body["approved_via"] == "device" and body["approved_by_device_id"] == trusted.id
    first_hand = await checked(
        await client.get(f"/api/v1/devices/{trusted.id}", headers=bearer(alice))
    )
    assert first_hand["approved_via"] == "password" and first_hand["approved_by_device_id"] is None


async def test_device_approved_token_never_outlives_the_approving_device(
    client: Any, admin_token: str, clock: ManualClock
) -> None:
    """A device approved with a device token gets a token that ends no later than the
    approving device's token."""
    alice = await _alice(client, admin_token)
    approver = await connect_device(client, alice)  # 24 h
    clock.advance(20 * 3600)
    auth = await _start(client)
    assert (await _verify(client, approver.token, auth, trusted=False)).status == 200
    token = await (await _poll(client, auth)).json()
    assert 0 < token["expires_in"] <= 4 * 3600


async def test_device_approved_by_a_device_cannot_approve(client: Any, admin_token: str) -> None:
    """Only a device approved first hand (browser or password login) may approve: a device
    approved by another device's token is refused (403)."""
    alice = await _alice(client, admin_token)
    first = await connect_device(client, alice, trusted=True)
    second = await connect_device(client, first.token, trusted=True)
    auth = await _start(client)
    resp = await _verify(client, second.token, auth, trusted=False)
    assert resp.status == 403 and "not approved in a browser" in (await resp.json())["detail"]


async def test_lock_cascades_to_the_devices_it_approved(client: Any, admin_token: str) -> None:
    """Locking a device locks, at once and in the same change, every device it approved,
    and the answer names them; their tokens are refused on the next request."""
    alice = await _alice(client, admin_token)
    parent = await connect_device(client, alice, trusted=True)
    child = await connect_device(client, parent.token, hostname="child")
    other = await connect_device(client, alice, hostname="other")
    body = await checked(await _lock(client, alice, parent.id))
    assert body["status"] == "locked" and body["locked_by"] == "owner"
    assert body["also_locked"] == [{"id": child.id, "hostname": "child"}]
    assert (await client.get("/api/v1/current-user", headers=bearer(child.token))).status == 401
    assert (await client.get("/api/v1/current-user", headers=bearer(other.token))).status == 200
    locked_child = await checked(
        await client.get(f"/api/v1/devices/{child.id}", headers=bearer(alice))
    )
    assert locked_child["status"] == "locked" and locked_child["locked_because_of"] == parent.id


async def test_delete_locks_the_devices_it_approved(client: Any, admin_token: str) -> None:
    """Deleting a device locks every device it approved and says so in the answer."""
    alice = await _alice(client, admin_token)
    parent = await connect_device(client, alice, trusted=True)
    child = await connect_device(client, parent.token, hostname="child")
    resp = await client.delete(f"/api/v1/devices/{parent.id}", headers=bearer(alice))
    body = await checked(resp)
    assert body == {"id": parent.id, "also_locked": [{"id": child.id, "hostname": "child"}]}
    assert (await client.get("/api/v1/current-user", headers=bearer(child.token))).status == 401


async def test_lock_of_an_approved_but_uncollected_device_cascades(
    client: Any, admin_token: str
) -> None:
    """A device approved by a token but not yet collected is locked too: its poll is denied."""
    alice = await _alice(client, admin_token)
    parent = await connect_device(client, alice)
    auth = await _start(client)
    assert (await _verify(client, parent.token, auth, trusted=False)).status == 200
    assert (await _lock(client, alice, parent.id)).status == 200
    assert (await (await _poll(client, auth)).json())["error"] == "access_denied"


async def test_admin_lock_is_lifted_only_by_an_admin(client: Any, admin_token: str) -> None:
    """The reported request: after an admin locks device A, the owner's other device token
    cannot unlock it (403); the admin can."""
    alice = await _alice(client, admin_token)
    device_a = await connect_device(client, alice, hostname="a")
    device_b = await connect_device(client, alice, hostname="b")
    body = await checked(await _lock(client, admin_token, device_a.id))
    assert body["locked_by"] == "admin"
    resp = await _lock(client, device_b.token, device_a.id, locked=False)
    assert resp.status == 403 and "only an administrator" in (await checked(resp))["detail"]
    resp = await _lock(client, alice, device_a.id, locked=False)
    assert resp.status == 403
    body = await checked(await _lock(client, admin_token, device_a.id, locked=False))
    assert body["status"] == "active" and body["locked_by"] is None
    assert (await client.get("/api/v1/current-user", headers=bearer(device_a.token))).status == 200


async def test_owner_relocking_keeps_an_admin_lock(client: Any, admin_token: str) -> None:
    """An owner locking an admin-locked device again does not turn it into their own lock."""
    alice = await _alice(client, admin_token)
    device = await connect_device(client, alice)
    await _lock(client, admin_token, device.id)
    body = await checked(await _lock(client, alice, device.id))
    assert body["locked_by"] == "admin"
    assert (await _lock(client, alice, device.id, locked=False)).status == 403


async def test_owner_lock_is_lifted_by_the_owner(client: Any, admin_token: str) -> None:
    """A lock set by the owner says so and the owner may lift it."""
    alice = await _alice(client, admin_token)
    device = await connect_device(client, alice)
    assert (await checked(await _lock(client, alice, device.id)))["locked_by"] == "owner"
    body = await checked(await _lock(client, alice, device.id, locked=False))
    assert body["status"] == "active" and body["locked_by"] is None


async def test_wrong_codes_lock_says_so_and_unlock_resets_the_counter(
    client: Any, admin_token: str
) -> None:
    """A lock after too many wrong codes is reported as such; unlocking resets the counter."""
    auth = await _start(client)
    device_id = auth["verification_uri_complete"].split("device_id=")[1].split("&")[0]
    for _ in range(3):
        await client.put(
            f"/api/v1/devices/{device_id}/verify",
            json={"user_code": "BCDF-GHJK"},
            headers=bearer(admin_token),
        )
    got = await checked(
        await client.get(f"/api/v1/devices/{device_id}", headers=bearer(admin_token))
    )
    assert got["status"] == "locked" and got["locked_by"] == "wrong_codes"
    body = await checked(await _lock(client, admin_token, device_id, locked=False))
    assert body["status"] == "pending" and body["failed_auth_attempts"] == 0
    assert body["locked_by"] is None


async def test_retried_approval_answers_the_device(client: Any, admin_token: str) -> None:
    """The same user approving again with the same choice (the first answer was lost) gets
    200 and the device as it stands, even after its token was collected; another choice is
    still 409."""
    alice = await _alice(client, admin_token)
    auth = await _start(client)
    first = await checked(await _verify(client, alice, auth, trusted=False))
    again = await checked(await _verify(client, alice, auth, trusted=False))
    assert again["id"] == first["id"] and again["status"] == "verified"
    assert (await _poll(client, auth)).status == 200
    collected = await checked(await _verify(client, alice, auth, trusted=False))
    assert collected["status"] == "active"
    assert (await _verify(client, alice, auth, trusted=True)).status == 409
    assert (await _verify(client, admin_token, auth, trusted=False)).status == 409


async def test_poll_of_a_cascade_locked_login_says_why(client: Any, admin_token: str) -> None:
    """A login approved by a device that was then locked polls access_denied saying it was
    locked along with the device that approved it; one its owner locked says so."""
    alice = await _alice(client, admin_token)
    parent = await connect_device(client, alice)
    auth = await _start(client)
    assert (await _verify(client, parent.token, auth, trusted=False)).status == 200
    assert (await _lock(client, alice, parent.id)).status == 200
    body = await (await _poll(client, auth)).json()
    assert body["error_description"] == (
        "this device was locked along with the device that approved it"
    )
    own = await _start(client)
    assert (await _verify(client, alice, own, trusted=False)).status == 200
    own_id = own["verification_uri_complete"].split("device_id=")[1].split("&")[0]
    assert (await _lock(client, alice, own_id)).status == 200
    body = await (await _poll(client, own)).json()
    assert body["error_description"] == "this device was locked by its owner"
