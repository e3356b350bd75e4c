"""Each way a device login ends without a token says which, in one sentence (the CLI shows
it), and a locked device's token is refused as locked, not as "not authenticated"."""

from __future__ import annotations

from typing import Any

from tests.builders import bearer
from tests.device_flow.builders import approve, device_id_of, device_token, poll, start
from zenml_server.domain.models import ApprovalVia
from zenml_server.http.keys import CLOCK, SERVICES


async def _refusal(client: Any, authorization: dict[str, Any]) -> tuple[str, str]:
    client.app[CLOCK].advance(10)
    resp = await poll(client, authorization)
    assert resp.status == 400, await resp.text()
    body = await resp.json()
    return body["error"], body["error_description"]


async def _admin_id(client: Any, admin_token: str) -> str:
    resp = await client.get("/api/v1/current-user", headers=bearer(admin_token))
    admin_id: str = (await resp.json())["id"]
    return admin_id


async def test_denied_login_says_denied(client: Any, admin_token: str) -> None:
    """A login denied in the browser polls access_denied: 'denied in the browser'."""
    authorization = await start(client)
    await client.app[SERVICES].approvals.decide(
        await _admin_id(client, admin_token),
        authorization["user_code"],
        device_id=device_id_of(authorization),
        ip="127.0.0.1",
        approve=False,
        via=ApprovalVia.SESSION,
    )
    assert await _refusal(client, authorization) == (
        "access_denied",
        "the login was denied in the browser",
    )


async def test_login_locked_by_wrong_codes_says_so(client: Any, admin_token: str) -> None:
    """Too many wrong codes typed for a login: 'locked after too many wrong codes'."""
    authorization = await start(client)
    for _ in range(5):
        await approve(client, admin_token, authorization, user_code="BBBB-BBBB")
    assert await _refusal(client, authorization) == (
        "access_denied",
        "the login request was locked after too many wrong codes",
    )


async def test_login_locked_by_a_person_says_so(client: Any, admin_token: str) -> None:
    """A pending login an admin locked on the devices API: 'locked by an admin'."""
    authorization = await start(client)
    resp = await client.put(
        f"/api/v1/devices/{device_id_of(authorization)}",
        json={"locked": True},
        headers=bearer(admin_token),
    )
    assert resp.status == 200, await resp.text()
    assert await _refusal(client, authorization) == (
        "access_denied",
        "this device was locked by an admin",
    )


async def test_token_of_a_locked_device_is_refused_as_locked(client: Any, admin_token: str) -> None:
    """The holder of a locked device's token reads 'this device is locked' and by whom in
    the 401."""
    token = await device_token(client, admin_token)
    resp = await client.put(
        f"/api/v1/devices/{token['device_id']}", json={"locked": True}, headers=bearer(admin_token)
    )
    assert resp.status == 200
    resp = await client.get("/api/v1/current-user", headers=bearer(token["access_token"]))
    assert resp.status == 401
    assert (await resp.json())["detail"] == "this device is locked (by its owner)"
    # A token that is simply wrong still says nothing more.
    resp = await client.get("/api/v1/current-user", headers=bearer("nonsense"))
    assert (await resp.json())["detail"] == "not authenticated"
