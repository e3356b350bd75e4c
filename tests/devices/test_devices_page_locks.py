"""The /devices page says what a lock did: the devices it locked along, and that an admin's
lock is lifted only by an admin."""

from __future__ import annotations

from typing import Any

from tests.builders import bearer, login, make_user
from tests.device_flow.builders import csrf_from, page_login
from tests.devices.builders import connect_device


async def _post(client: Any, path: str) -> Any:
    page = await client.get("/devices")
    return await client.post(path, data={"csrf_token": csrf_from(await page.text())})


async def test_lock_on_the_page_says_what_else_it_locked(client: Any, admin_token: str) -> None:
    """Locking a device on the page locks what it approved and the page says so; the
    devices list shows who locked each."""
    await make_user(client, admin_token, "alice", "alice-password-1")
    alice = await login(client, "alice", "alice-password-1")
    parent = await connect_device(client, alice, trusted=True, hostname="parent")
    child = await connect_device(client, parent.token, hostname="child")
    await page_login(client, "alice", "alice-password-1")
    resp = await _post(client, f"/devices/{parent.id}/lock")
    assert resp.status == 200
    text = await resp.text()
    assert "The device was locked. 1 device it had approved was locked too." in text
    assert '<span class="muted locked-by">by you</span>' in text
    got = await client.get(f"/api/v1/devices/{child.id}", headers=bearer(alice))
    assert (await got.json())["status"] == "locked"


async def test_page_refuses_to_lift_an_admin_lock(client: Any, admin_token: str) -> None:
    """A device an admin locked shows '(by an admin)'; Unlock on the owner's page is refused
    with a message and the device stays locked."""
    await make_user(client, admin_token, "alice", "alice-password-1")
    alice = await login(client, "alice", "alice-password-1")
    device = await connect_device(client, alice)
    resp = await client.put(
        f"/api/v1/devices/{device.id}", json={"locked": True}, headers=bearer(admin_token)
    )
    assert resp.status == 200
    await page_login(client, "alice", "alice-password-1")
    assert 'locked-by">by an admin<' in await (await client.get("/devices")).text()
    resp = await _post(client, f"/devices/{device.id}/unlock")
    assert "only an administrator can unlock it" in await resp.text()
    got = await client.get(f"/api/v1/devices/{device.id}", headers=bearer(alice))
    assert (await got.json())["status"] == "locked"
