"""The device authorization grant over HTTP, against the real app on each engine."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from tests.builders import bearer, login, make_user
from tests.device_flow.builders import (
    CLIENT_ID,
    OTHER_CLIENT_ID,
    approve,
    device_id_of,
    device_token,
    poll,
    start,
)
from zenml_server.domain.clock import ManualClock
from zenml_server.domain.models import ApprovalVia
from zenml_server.http.api.tokens import DEVICE_CODE_GRANT
from zenml_server.http.keys import CLOCK, SERVICES, STORE


async def _error(resp: Any) -> str:
    assert resp.status == 400, await resp.text()
    assert resp.headers["Cache-Control"] == "no-store"
    body = await resp.json()
    assert set(body) == {"error", "error_description"}
    error: str = body["error"]
    return error


async def test_authorization_answers_rfc8628_body(client: Any) -> None:
    """device_authorization answers §3.2 JSON, no-store, with XXXX-XXXX code and both URIs."""
    resp = await client.post(
        "/api/v1/device_authorization",
        data={"client_id": CLIENT_ID},
        headers={"User-Agent": "Host/h1 ZenML/0.98.0 Python/3.11.7 OS/Linux"},
    )
    assert resp.status == 200
    assert resp.headers["Cache-Control"] == "no-store"
    body = await resp.json()
    assert re.fullmatch(r"[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}", body["user_code"])
    assert len(body["device_code"]) >= 43  # 32 random bytes, base64url
    origin = str(client.make_url("/")).rstrip("/")
    assert body["verification_uri"] == f"{origin}/devices/verify"
    device_id = device_id_of(body)
    assert body["verification_uri_complete"] == (
        f"{origin}/devices/verify?device_id={device_id}&user_code={body['user_code']}"
    )
    assert body["expires_in"] == 300 and body["interval"] == 5


async def test_authorization_uses_configured_url_and_timings(make_client: Any) -> None:
    """ZENML_SERVER_URL, DEVICE_AUTH_TIMEOUT and POLLING_INTERVAL shape the answer."""
    client = await make_client(
        url="https://zenml.example.com", device_auth_timeout=120, device_auth_polling_interval=2
    )
    body = await start(client)
    assert body["verification_uri"] == "https://zenml.example.com/devices/verify"
    assert body["verification_uri_complete"].startswith(
        "https://zenml.example.com/devices/verify?device_id="
    )
    assert body["expires_in"] == 120 and body["interval"] == 2


async def test_authorization_records_user_agent_metadata(client: Any) -> None:
    """Hostname, versions and OS come from the User-Agent; the IP from the socket."""
    body = await start(client, user_agent="Host/box-1 ZenML/0.98.0 Python/3.12.1 OS/Darwin junk")
    device = await client.app[STORE].devices.get(device_id_of(body))
    assert (device.hostname, device.client_version, device.python_version, device.os) == (
        "box-1",
        "0.98.0",
        "3.12.1",
        "Darwin",
    )
    assert device.ip_address == "127.0.0.1"
    assert device.status == "pending" and device.user_id is None


async def test_forwarded_for_believed_only_from_trusted_proxy(make_client: Any) -> None:
    """X-Forwarded-For sets the device's IP only when the peer is a trusted proxy."""
    import ipaddress

    headers = {"X-Forwarded-For": "203.0.113.9"}
    plain = await make_client()
    resp = await plain.post(
        "/api/v1/device_authorization", data={"client_id": CLIENT_ID}, headers=headers
    )
    device = await plain.app[STORE].devices.get(device_id_of(await resp.json()))
    assert device.ip_address == "127.0.0.1"
    proxied = await make_client(trusted_proxies=(ipaddress.ip_network("127.0.0.1/32"),))
    resp = await proxied.post(
        "/api/v1/device_authorization", data={"client_id": CLIENT_ID}, headers=headers
    )
    device = await proxied.app[STORE].devices.get(device_id_of(await resp.json()))
    assert device.ip_address == "203.0.113.9"


async def test_authorization_refuses_bad_requests(client: Any) -> None:
    """A missing or non-VSCHAR client_id, or a non-form body, is invalid_request."""
    resp = await client.post("/api/v1/device_authorization", data={})
    assert await _error(resp) == "invalid_request"
    resp = await client.post("/api/v1/device_authorization", data={"client_id": "not\x7fvschar"})
    assert await _error(resp) == "invalid_request"
    resp = await client.post("/api/v1/device_authorization", json={"client_id": CLIENT_ID})
    assert await _error(resp) == "invalid_request"
    resp = await client.post(
        "/api/v1/device_authorization",
        data=f"client_id={CLIENT_ID}&client_id={CLIENT_ID}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert await _error(resp) == "invalid_request"


async def test_authorization_is_rate_limited_per_ip(client: Any) -> None:
    """Flooding device_authorization from one address gets 429 temporarily_unavailable."""
    statuses = []
    for _ in range(25):
        resp = await client.post("/api/v1/device_authorization", data={"client_id": CLIENT_ID})
        statuses.append(resp.status)
    assert statuses[:10] == [200] * 10
    assert statuses[-1] == 429
    assert (await resp.json())["error"] == "temporarily_unavailable"
    assert "Retry-After" in resp.headers


async def test_pending_then_token_with_default_lifetime(
    client: Any, admin_token: str, clock: ManualClock
) -> None:
    """Before approval: authorization_pending; after: a bearer token of 86400 s with device_id."""
    authorization = await start(client)
    assert await _error(await poll(client, authorization)) == "authorization_pending"
    resp = await approve(client, admin_token, authorization)
    assert resp.status == 200
    clock.advance(5)
    resp = await poll(client, authorization)
    assert resp.status == 200
    assert resp.headers["Cache-Control"] == "no-store"
    body = await resp.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 86400
    assert body["device_id"] == device_id_of(authorization)
    me = await client.get("/api/v1/current-user", headers=bearer(body["access_token"]))
    assert me.status == 200
    auth = (await me.json())["auth"]
    assert auth["method"] == "device" and auth["device_id"] == body["device_id"]


async def test_trusted_device_gets_thirty_days(client: Any, admin_token: str) -> None:
    """Trust this device: the token lives 2592000 s and the device is marked trusted."""
    body = await device_token(client, admin_token, trusted=True)
    assert body["expires_in"] == 2592000
    device = await client.app[STORE].devices.get(body["device_id"])
    assert device.trusted_device is True and device.status == "active"


async def test_lifetimes_follow_settings(make_client: Any, admin_token: str) -> None:
    """DEVICE_EXPIRATION_MINUTES and TRUSTED_DEVICE_EXPIRATION_MINUTES set expires_in."""
    client = await make_client(device_expiration_minutes=60, trusted_device_expiration_minutes=120)
    token = await login(client, "admin", "admin-password-1")
    assert (await device_token(client, token))["expires_in"] == 3600
    assert (await device_token(client, token, trusted=True))["expires_in"] == 7200


async def test_unknown_code_is_invalid_grant(client: Any) -> None:
    """An unknown device code is invalid_grant."""
    await start(client)
    resp = await poll(client, {"device_code": "x" * 43})
    assert await _error(resp) == "invalid_grant"


async def test_code_of_another_client_is_invalid_grant(client: Any, admin_token: str) -> None:
    """A device code presented with another client_id is invalid_grant, even once approved."""
    authorization = await start(client)
    await approve(client, admin_token, authorization)
    resp = await poll(client, authorization, client_id=OTHER_CLIENT_ID)
    assert await _error(resp) == "invalid_grant"
    assert (await poll(client, authorization)).status == 200


async def test_bad_token_requests_are_invalid_request(client: Any) -> None:
    """A device_code grant without client_id or device_code is invalid_request; an unknown
    client_id is invalid_grant."""
    resp = await client.post("/api/v1/login", data={"grant_type": DEVICE_CODE_GRANT})
    assert await _error(resp) == "invalid_request"
    resp = await client.post(
        "/api/v1/login", data={"grant_type": DEVICE_CODE_GRANT, "client_id": CLIENT_ID}
    )
    assert await _error(resp) == "invalid_request"
    resp = await poll(client, {"device_code": "abc"}, client_id="nope")
    assert await _error(resp) == "invalid_grant"


async def test_replayed_code_is_refused(client: Any, admin_token: str) -> None:
    """Once exchanged, the same device code is invalid_grant."""
    authorization = await start(client)
    await approve(client, admin_token, authorization)
    assert (await poll(client, authorization)).status == 200
    _clock(client).advance(10)
    assert await _error(await poll(client, authorization)) == "invalid_grant"


def _clock(client: Any) -> ManualClock:
    clock: ManualClock = client.app[CLOCK]
    return clock


async def test_concurrent_polls_yield_exactly_one_token(client: Any, admin_token: str) -> None:
    """N concurrent polls after approval: exactly one token, the rest refused."""
    authorization = await start(client)
    await approve(client, admin_token, authorization)
    responses = await asyncio.gather(*(poll(client, authorization) for _ in range(12)))
    statuses = [r.status for r in responses]
    assert statuses.count(200) == 1, statuses
    for resp in responses:
        if resp.status != 200:
            assert await _error(resp) in ("slow_down", "invalid_grant")


async def test_expired_code_is_expired_token(client: Any, admin_token: str) -> None:
    """Past DEVICE_AUTH_TIMEOUT a poll is expired_token and approval is refused."""
    authorization = await start(client)
    _clock(client).advance(301)
    assert await _error(await poll(client, authorization)) == "expired_token"
    resp = await approve(client, admin_token, authorization)
    assert resp.status == 400
    assert "expired" in (await resp.json())["detail"]


async def test_approved_but_expired_code_is_expired_token(client: Any, admin_token: str) -> None:
    """An approval not collected before the codes expire gives expired_token, no token."""
    authorization = await start(client)
    await approve(client, admin_token, authorization)
    _clock(client).advance(300)
    assert await _error(await poll(client, authorization)) == "expired_token"


async def test_slow_down_only_when_too_fast(client: Any) -> None:
    """First poll never slow_down; at the interval (even 1 s early) fine; faster: slow_down."""
    clock = _clock(client)
    authorization = await start(client)
    assert await _error(await poll(client, authorization)) == "authorization_pending"
    clock.advance(5)
    assert await _error(await poll(client, authorization)) == "authorization_pending"
    clock.advance(4)  # one second of jitter is tolerated
    assert await _error(await poll(client, authorization)) == "authorization_pending"
    clock.advance(2)
    assert await _error(await poll(client, authorization)) == "slow_down"


async def test_slow_down_adds_five_seconds_and_obeying_client_recovers(client: Any) -> None:
    """Each slow_down adds 5 s for that device only; polling at the new interval recovers."""
    clock = _clock(client)
    authorization = await start(client)
    other = await start(client, client_id=OTHER_CLIENT_ID)
    await poll(client, authorization)
    await poll(client, other, client_id=OTHER_CLIENT_ID)
    clock.advance(1)
    assert await _error(await poll(client, authorization)) == "slow_down"  # now 10 s
    for _ in range(3):
        clock.advance(10)
        assert await _error(await poll(client, authorization)) == "authorization_pending"
    clock.advance(5)  # the advertised 5 s no longer suffice for this device…
    assert await _error(await poll(client, authorization)) == "slow_down"  # now 15 s
    clock.advance(15)
    assert await _error(await poll(client, authorization)) == "authorization_pending"
    devices = client.app[STORE].devices
    assert (await devices.get(device_id_of(authorization))).interval == 15
    assert (await devices.get(device_id_of(other))).interval == 5  # the other kept its own


async def test_denied_is_access_denied(client: Any, admin_token: str) -> None:
    """A denied authorization answers access_denied."""
    authorization = await start(client)
    services = client.app[SERVICES]
    user = await client.app[STORE].users.get_by_name("admin")
    await services.approvals.decide(
        user.id,
        authorization["user_code"],
        device_id=None,
        ip="1.2.3.4",
        approve=False,
        via=ApprovalVia.SESSION,
    )
    assert await _error(await poll(client, authorization)) == "access_denied"


async def test_locked_authorization_is_access_denied(client: Any, admin_token: str) -> None:
    """An approved authorization locked before collection answers access_denied."""
    authorization = await start(client)
    await approve(client, admin_token, authorization)
    await client.app[STORE].devices.set_locked(device_id_of(authorization), True, 0.0)
    assert await _error(await poll(client, authorization)) == "access_denied"


async def test_new_authorization_leaves_existing_device_alone(
    client: Any, admin_token: str
) -> None:
    """A second authorization from the same client creates a new device; the first keeps
    working with its token."""
    first = await device_token(client, admin_token)
    second = await start(client)
    assert device_id_of(second) != first["device_id"]
    me = await client.get("/api/v1/current-user", headers=bearer(first["access_token"]))
    assert me.status == 200
    device = await client.app[STORE].devices.get(first["device_id"])
    assert device.status == "active"


async def test_locked_device_token_refused_on_next_request(client: Any, admin_token: str) -> None:
    """Locking a device refuses its token on the very next request; unlocking restores it."""
    body = await device_token(client, admin_token)
    headers = bearer(body["access_token"])
    assert (await client.get("/api/v1/current-user", headers=headers)).status == 200
    store, services = client.app[STORE], client.app[SERVICES]
    await store.devices.set_locked(body["device_id"], True, 0.0)
    await services.wiring.revocations.announce(f"device:{body['device_id']}")
    assert (await client.get("/api/v1/current-user", headers=headers)).status == 401
    await store.devices.set_locked(body["device_id"], False, 0.0)
    await services.wiring.revocations.announce(f"device:{body['device_id']}")
    assert (await client.get("/api/v1/current-user", headers=headers)).status == 200


async def test_deleted_device_token_refused(client: Any, admin_token: str) -> None:
    """Deleting a device refuses its token on the next request."""
    body = await device_token(client, admin_token)
    headers = bearer(body["access_token"])
    assert (await client.get("/api/v1/current-user", headers=headers)).status == 200
    await client.app[STORE].devices.delete(body["device_id"], 0.0)
    await client.app[SERVICES].wiring.revocations.announce(f"device:{body['device_id']}")
    assert (await client.get("/api/v1/current-user", headers=headers)).status == 401


async def test_device_token_checked_from_cache(client: Any, admin_token: str) -> None:
    """While nothing changes, device tokens are checked without reading the device again."""
    body = await device_token(client, admin_token)
    headers = bearer(body["access_token"])
    assert (await client.get("/api/v1/current-user", headers=headers)).status == 200
    store = client.app[STORE]
    # Change the row behind the cache's back: the cached answer still stands…
    await store.db.execute("UPDATE devices SET status = 'locked' WHERE id = $1", body["device_id"])
    assert (await client.get("/api/v1/current-user", headers=headers)).status == 200
    # …until the change is announced, as every writer does.
    await client.app[SERVICES].wiring.revocations.announce(f"device:{body['device_id']}")
    assert (await client.get("/api/v1/current-user", headers=headers)).status == 401


async def test_device_token_expires_with_device(client: Any, admin_token: str) -> None:
    """A device token stops working when its lifetime is over."""
    body = await device_token(client, admin_token)
    headers = bearer(body["access_token"])
    _clock(client).advance(86400)
    assert (await client.get("/api/v1/current-user", headers=headers)).status == 401


async def test_user_deactivation_ends_device_tokens(client: Any, admin_token: str) -> None:
    """A device token of a user who is deactivated afterwards is refused."""
    await make_user(client, admin_token, "erin", "erin-password-1")
    erin = await login(client, "erin", "erin-password-1")
    body = await device_token(client, erin)
    headers = bearer(body["access_token"])
    assert (await client.get("/api/v1/current-user", headers=headers)).status == 200
    await client.put("/api/v1/users/erin", json={"active": False}, headers=bearer(admin_token))
    assert (await client.get("/api/v1/current-user", headers=headers)).status == 401


async def test_deactivated_approver_gets_access_denied(client: Any, admin_token: str) -> None:
    """If the approving user is deactivated before the poll, no token: access_denied."""
    await make_user(client, admin_token, "fay", "fay-password-1")
    fay = await login(client, "fay", "fay-password-1")
    authorization = await start(client)
    assert (await approve(client, fay, authorization)).status == 200
    await client.put("/api/v1/users/fay", json={"active": False}, headers=bearer(admin_token))
    assert await _error(await poll(client, authorization)) == "access_denied"


async def test_last_login_is_flushed_in_batches(client: Any, admin_token: str) -> None:
    """Device use is marked in memory and written by the last-used flush."""
    body = await device_token(client, admin_token)
    clock = _clock(client)
    clock.advance(100)
    await client.get("/api/v1/current-user", headers=bearer(body["access_token"]))
    services = client.app[SERVICES]
    assert services.wiring.last_used.pending("device") == {body["device_id"]: clock.now()}
    await services.wiring.last_used.flush()
    device = await client.app[STORE].devices.get(body["device_id"])
    assert device.last_login == clock.now()


async def test_housekeeping_deletes_expired_unapproved(client: Any, admin_token: str) -> None:
    """The sweep deletes never-approved authorizations whose codes expired, nothing else."""
    pending = await start(client)
    active = await device_token(client, admin_token, client_id=OTHER_CLIENT_ID)
    services, store = client.app[SERVICES], client.app[STORE]
    assert (await services.wiring.housekeeping.sweep())["device_authorizations"] == 0
    _clock(client).advance(301)
    assert (await services.wiring.housekeeping.sweep())["device_authorizations"] == 1
    assert await store.devices.get(device_id_of(pending)) is None
    assert (await store.devices.get(active["device_id"])).status == "active"
