"""Every device-flow endpoint and error path against the OpenAPI document; and no code or
token in any log line."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.builders import bearer
from tests.device_flow.builders import (
    CLIENT_ID,
    OTHER_CLIENT_ID,
    approve,
    device_id_of,
    page_login,
    poll,
    start,
)
from tests.openapi_check import checked
from zenml_server.domain.clock import ManualClock
from zenml_server.http.api.tokens import DEVICE_CODE_GRANT


async def test_every_endpoint_and_error_matches_openapi(
    client: Any, admin_token: str, clock: ManualClock
) -> None:
    """Real answers of every device-flow endpoint and error path match the document."""
    headers = bearer(admin_token)
    # device_authorization: success, bad client_id, wrong content type, flood
    authorization = await checked(
        await client.post("/api/v1/device_authorization", data={"client_id": CLIENT_ID})
    )
    bad = await checked(
        await client.post("/api/v1/device_authorization", data={"client_id": "x\x01"})
    )
    assert bad["error"] == "invalid_request"
    await checked(await client.post("/api/v1/device_authorization", json={}))
    # the token endpoint: every §3.5 answer
    pending = await checked(await poll(client, authorization))
    assert pending["error"] == "authorization_pending"
    assert (await checked(await poll(client, authorization)))["error"] == "slow_down"
    unknown = await checked(await poll(client, {"device_code": "y" * 43}))
    assert unknown["error"] == "invalid_grant"
    missing = await client.post("/api/v1/login", data={"grant_type": DEVICE_CODE_GRANT})
    assert (await checked(missing))["error"] == "invalid_request"
    # verify through the API: every refusal, then success
    verify = "/api/v1/devices/verify"
    assert (await client.post(verify, json={"user_code": "BCDF-GHJK"})).status == 401
    await checked(await client.post(verify, json={"user_code": "BCDF-GHJK"}))
    await checked(await client.post(verify, json={"user_code": "BCDF-GHJK"}, headers=headers))
    await checked(await client.post(verify, json={"user_code": 5}, headers=headers))
    await checked(await client.post(verify, data={"user_code": "x"}, headers=headers))
    device = await checked(await approve(client, admin_token, authorization))
    assert device["status"] == "verified"
    await checked(await approve(client, admin_token, authorization))  # 409
    put_wrong = await approve(client, admin_token, authorization, user_code="BCDF-GHJK")
    await checked(put_wrong)
    clock.advance(10)  # the interval after the slow_down above
    token = await checked(await poll(client, authorization))
    assert token["device_id"] == device_id_of(authorization)
    clock.advance(5)
    assert (await checked(await poll(client, authorization)))["error"] == "invalid_grant"
    # locked (403) and expired (400)
    locked = await start(client, client_id=OTHER_CLIENT_ID)
    for _ in range(3):
        resp = await approve(client, admin_token, locked, user_code="BCDF-GHJK")
    await checked(resp)
    assert resp.status == 403
    clock.advance(5)
    denied = await checked(await poll(client, locked, client_id=OTHER_CLIENT_ID))
    assert denied["error"] == "access_denied"
    late = await start(client)
    clock.advance(301)
    await checked(await approve(client, admin_token, late))
    assert (await checked(await poll(client, late)))["error"] == "expired_token"
    # discovery and revocation
    await checked(await client.get("/.well-known/oauth-authorization-server"))
    await checked(await client.post("/api/v1/revoke", data={"token": token["access_token"]}))
    await checked(await client.post("/api/v1/revoke", data={"token": "unknown"}))
    await checked(await client.post("/api/v1/revoke", data={}))
    await checked(await client.post("/api/v1/revoke", json={"token": "x"}))


async def test_device_authorization_flood_matches_openapi(client: Any) -> None:
    """The 429 of device_authorization matches the document."""
    for _ in range(21):
        resp = await client.post("/api/v1/device_authorization", data={"client_id": CLIENT_ID})
    assert resp.status == 429
    await checked(resp)


async def test_no_code_or_token_in_any_log_line(
    client: Any, admin_token: str, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    """No device code, user code or access token appears in any log record of the flow."""
    caplog.set_level(logging.DEBUG)
    secrets: list[str] = []
    for trusted in (False, True):
        authorization = await start(client)
        secrets += [authorization["device_code"], authorization["user_code"]]
        secrets.append(authorization["user_code"].replace("-", ""))
        await poll(client, authorization)
        await poll(client, authorization)  # slow_down
        await approve(client, admin_token, authorization, trusted=trusted)
        clock.advance(10)
        body = await (await poll(client, authorization)).json()
        secrets.append(body["access_token"])
        await poll(client, authorization)  # replay
        await client.get("/api/v1/current-user", headers=bearer(body["access_token"]))
    denied = await start(client)
    secrets += [denied["device_code"], denied["user_code"]]
    await page_login(client)
    await client.post(
        "/devices/verify",
        data={"csrf_token": "forged", "user_code": denied["user_code"], "decision": "deny"},
    )
    await client.post("/api/v1/revoke", data={"token": secrets[3]})
    await client.post(
        "/api/v1/login",
        data={"grant_type": DEVICE_CODE_GRANT, "client_id": CLIENT_ID, "device_code": "z" * 43},
    )
    logged = {r.name for r in caplog.records}
    assert "zenml_server.services.device_flow" in logged, logged
    for record in caplog.records:
        line = record.getMessage() + (record.exc_text or "")
        for secret in secrets:
            assert secret not in line, (record.name, line)
