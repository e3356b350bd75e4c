"""Approving a device through the API: PUT /api/v1/devices/{id}/verify and POST
/api/v1/devices/verify."""

from __future__ import annotations

from typing import Any

from tests.builders import bearer, login, make_user
from tests.device_flow.builders import approve, device_id_of, device_token, poll, start
from zenml_server.domain.clock import ManualClock
from zenml_server.http.keys import STORE


async def test_put_verify_answers_device_json(client: Any, admin_token: str) -> None:
    """PUT …/{id}/verify approves and answers the full Device JSON, owner filled in."""
    authorization = await start(client)
    resp = await approve(client, admin_token, authorization, trusted=True)
    assert resp.status == 200
    body = await resp.json()
    assert body["id"] == device_id_of(authorization)
    assert body["status"] == "verified" and body["trusted_device"] is True
    assert body["user"]["name"] == "admin"
    assert body["hostname"] == "laptop-7" and body["os"] == "Linux"
    assert body["client_version"] == "0.98.0" and body["python_version"] == "3.11.7"
    assert body["failed_auth_attempts"] == 0 and body["last_login"] is None
    assert body["expires"].endswith("Z")


async def test_user_code_input_is_normalised(client: Any, admin_token: str) -> None:
    """Lower case, spaces and missing dashes in the typed code do not matter."""
    authorization = await start(client)
    typed = " " + authorization["user_code"].lower().replace("-", " ") + " "
    resp = await approve(client, admin_token, authorization, user_code=typed)
    assert resp.status == 200


async def test_post_verify_by_code_alone(client: Any, admin_token: str) -> None:
    """POST /api/v1/devices/verify approves with the code alone (zenml authorized-device
    approve CODE --trust)."""
    authorization = await start(client)
    resp = await client.post(
        "/api/v1/devices/verify",
        json={"user_code": authorization["user_code"], "trusted_device": True},
        headers=bearer(admin_token),
    )
    assert resp.status == 200
    assert (await resp.json())["trusted_device"] is True
    assert (await (await poll(client, authorization)).json())["expires_in"] == 2592000


async def test_device_token_can_approve_another_device(client: Any, admin_token: str) -> None:
    """A person logged in through a device may approve another device from the CLI."""
    token = (await device_token(client, admin_token))["access_token"]
    authorization = await start(client)
    resp = await client.post(
        "/api/v1/devices/verify",
        json={"user_code": authorization["user_code"]},
        headers=bearer(token),
    )
    assert resp.status == 200


async def test_verify_needs_authentication(client: Any) -> None:
    """Without a bearer token: 401."""
    authorization = await start(client)
    resp = await client.post(
        "/api/v1/devices/verify", json={"user_code": authorization["user_code"]}
    )
    assert resp.status == 401


async def test_verify_refusals(client: Any, admin_token: str, clock: ManualClock) -> None:
    """Wrong code 404, used code (another choice) 409, expired code 400, malformed body 422."""
    headers = bearer(admin_token)
    resp = await client.post(
        "/api/v1/devices/verify", json={"user_code": "BCDF-GHJK"}, headers=headers
    )
    assert resp.status == 404
    authorization = await start(client)
    assert (await approve(client, admin_token, authorization)).status == 200
    resp = await approve(client, admin_token, authorization, trusted=True)
    assert resp.status == 409
    late = await start(client)
    clock.advance(300)
    resp = await approve(client, admin_token, late)
    assert resp.status == 400 and (await resp.json())["error"] == "bad_request"
    resp = await client.post(
        "/api/v1/devices/verify", json={"trusted_device": True}, headers=headers
    )
    assert resp.status == 422
    resp = await client.post(
        "/api/v1/devices/verify", json={"user_code": "x", "trusted_device": "yes"}, headers=headers
    )
    assert resp.status == 422


async def test_wrong_codes_lock_the_device(client: Any, admin_token: str) -> None:
    """Wrong codes for a device count; at MAX_FAILED_DEVICE_AUTH_ATTEMPTS it is locked and
    even the right code is refused."""
    authorization = await start(client)
    for _ in range(2):
        resp = await approve(client, admin_token, authorization, user_code="BCDF-GHJK")
        assert resp.status == 404
    resp = await approve(client, admin_token, authorization, user_code="BCDF-GHJK")
    assert resp.status == 403
    resp = await approve(client, admin_token, authorization)
    assert resp.status == 403
    device = await client.app[STORE].devices.get(device_id_of(authorization))
    assert device.status == "locked" and device.failed_auth_attempts == 3
    assert (await (await poll(client, authorization)).json())["error"] == "access_denied"


async def test_max_failed_attempts_setting(make_client: Any) -> None:
    """MAX_FAILED_DEVICE_AUTH_ATTEMPTS=1 locks on the first wrong code."""
    client = await make_client(max_failed_device_auth_attempts=1)
    token = await login(client, "admin", "admin-password-1")
    authorization = await start(client)
    resp = await approve(client, token, authorization, user_code="BCDF-GHJK")
    assert resp.status == 403


async def test_code_entry_is_rate_limited_per_user(client: Any, admin_token: str) -> None:
    """Guessing codes: after a burst the user gets 429 with Retry-After."""
    headers = bearer(admin_token)
    statuses = []
    for _ in range(12):
        resp = await client.post(
            "/api/v1/devices/verify", json={"user_code": "BCDF-GHJK"}, headers=headers
        )
        statuses.append(resp.status)
    assert statuses[:10] == [404] * 10 and statuses[-1] == 429
    assert "Retry-After" in resp.headers


async def test_first_approver_owns_the_device(client: Any, admin_token: str) -> None:
    """The device belongs to whoever approved it first; a second approval is refused."""
    await make_user(client, admin_token, "gus", "gus-password-1")
    gus = await login(client, "gus", "gus-password-1")
    authorization = await start(client)
    assert (await approve(client, gus, authorization)).status == 200
    assert (await approve(client, admin_token, authorization)).status == 409
    body = await (await poll(client, authorization)).json()
    me = await client.get("/api/v1/current-user", headers=bearer(body["access_token"]))
    assert (await me.json())["name"] == "gus"


async def test_hostile_input_is_never_a_500(client: Any, admin_token: str) -> None:
    """NUL bytes, huge and non-ASCII values in ids and codes answer 4xx, never 500."""
    from tests.device_flow.builders import page_login

    headers = bearer(admin_token)
    authorization = await start(client)
    for device_id in ("%00", "x" * 3000, "%F0%9F%92%A9", "..%2F..%2Fetc"):
        resp = await client.put(
            f"/api/v1/devices/{device_id}/verify",
            json={"user_code": authorization["user_code"]},
            headers=headers,
        )
        assert 400 <= resp.status < 500, (device_id, resp.status)
    for code in ("\u0000", "B" * 65, "ÄÖÜ-ßßßß", ""):
        resp = await client.post(
            "/api/v1/devices/verify", json={"user_code": code}, headers=headers
        )
        assert 400 <= resp.status < 500, (code, resp.status)
    await page_login(client)
    for query in (
        "device_id=%00&user_code=BCDFGHJK",
        "user_code=%00",
        "device_id=%C3%28&user_code=x",
    ):
        resp = await client.get(f"/devices/verify?{query}")
        assert 400 <= resp.status < 500, (query, resp.status)
    resp = await client.post(
        "/api/v1/device_authorization",
        data={"client_id": "\u0000"},
    )
    assert resp.status == 400
    resp = await client.post(
        "/api/v1/login",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "client_id": "0b6b7d1e-2f4a-4c1e-9a57-5d0c1f6f9a10",
            "device_code": "é" * 40,
        },
    )
    assert resp.status == 400
