"""Knowing a client_id is not enough to lock its logins (issue 9.4).

A wrong device_code counts against nothing but the polling address; only wrong user codes
typed against a device count toward its lock.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from tests.device_flow.builders import (
    CLIENT_ID,
    approve,
    device_id_of,
    poll,
    start,
)
from zenml_server.http.api.tokens import DEVICE_CODE_GRANT
from zenml_server.http.keys import STORE
from zenml_server.services.device_flow import MAX_PENDING_PER_ADDRESS

ATTACKER = "203.0.113.9"
VICTIM = "198.51.100.23"


async def _garbage_poll(client: Any, ip: str, *, client_id: str = CLIENT_ID) -> Any:
    return await client.post(
        "/api/v1/login",
        data={"grant_type": DEVICE_CODE_GRANT, "client_id": client_id, "device_code": "x" * 43},
        headers={"X-Forwarded-For": ip},
    )


async def _proxied(make_client: Any) -> Any:
    return await make_client(trusted_proxies=(ipaddress.ip_network("127.0.0.1/32"),))


async def test_wrong_device_codes_do_not_lock_a_pending_authorization(
    make_client: Any, admin_token: str
) -> None:
    """Garbage polls with the victim's client_id leave its pending authorization usable."""
    client = await _proxied(make_client)
    authorization = await start(client)
    for _ in range(10):
        resp = await _garbage_poll(client, ATTACKER)
        assert (await resp.json())["error"] == "invalid_grant"
    device = await client.app[STORE].devices.get(device_id_of(authorization))
    assert device.status == "pending" and device.failed_auth_attempts == 0
    assert (await approve(client, admin_token, authorization)).status == 200
    assert (await poll(client, authorization)).status == 200


async def test_wrong_device_codes_do_not_lock_an_approved_authorization(
    make_client: Any, admin_token: str
) -> None:
    """An approved authorization not yet collected still gives its token after garbage polls."""
    client = await _proxied(make_client)
    authorization = await start(client)
    assert (await approve(client, admin_token, authorization)).status == 200
    for _ in range(10):
        await _garbage_poll(client, ATTACKER)
    resp = await poll(client, authorization)
    assert resp.status == 200, await resp.text()


async def test_wrong_device_codes_are_limited_per_address(make_client: Any) -> None:
    """Past its budget an address polling unknown codes gets slow_down (400, Retry-After);
    another address, and the right code, are unaffected."""
    client = await _proxied(make_client)
    authorization = await start(client)
    errors = [(await (await _garbage_poll(client, ATTACKER)).json())["error"] for _ in range(21)]
    assert errors[:20] == ["invalid_grant"] * 20 and errors[20] == "slow_down"
    resp = await _garbage_poll(client, ATTACKER)
    assert resp.status == 400 and int(resp.headers["Retry-After"]) > 0
    assert resp.headers["Cache-Control"] == "no-store"
    other = await _garbage_poll(client, VICTIM)
    assert (await other.json())["error"] == "invalid_grant"
    pending = await client.post(
        "/api/v1/login",
        data={
            "grant_type": DEVICE_CODE_GRANT,
            "client_id": CLIENT_ID,
            "device_code": authorization["device_code"],
        },
        headers={"X-Forwarded-For": VICTIM},
    )
    assert (await pending.json())["error"] == "authorization_pending"


async def test_wrong_user_codes_against_a_device_still_lock_it(
    client: Any, admin_token: str
) -> None:
    """Wrong user codes typed against one device count toward its lock, as before."""
    authorization = await start(client)
    for _ in range(3):
        resp = await approve(client, admin_token, authorization, user_code="BBBB-BBBB")
        assert resp.status in (403, 404)
    device = await client.app[STORE].devices.get(device_id_of(authorization))
    assert device.status == "locked"


async def test_pending_authorizations_are_capped_per_address(make_client: Any, clock: Any) -> None:
    """One address holds at most MAX_PENDING_PER_ADDRESS waiting authorizations (429 after);
    others are unaffected, and expiry frees the address again."""
    client = await make_client(trusted_proxies=(ipaddress.ip_network("127.0.0.1/32"),))

    async def ask(ip: str) -> Any:
        return await client.post(
            "/api/v1/device_authorization",
            data={"client_id": CLIENT_ID},
            headers={"X-Forwarded-For": ip},
        )

    for _ in range(MAX_PENDING_PER_ADDRESS):
        assert (await ask(ATTACKER)).status == 200
    refused = await ask(ATTACKER)
    assert refused.status == 429 and int(refused.headers["Retry-After"]) > 0
    body = await refused.json()
    assert body["error"] == "temporarily_unavailable"
    assert "wait for approval" in body["error_description"]
    assert (await ask(VICTIM)).status == 200
    clock.advance(301)  # the pending ones expire; the per-address rate limit refills
    assert (await ask(ATTACKER)).status == 200
