"""Builders for the device flow tests: one small function per step of the grant."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.builders import ADMIN_PASSWORD, bearer
from zenml_server.http.api.tokens import DEVICE_CODE_GRANT

Client = TestClient[web.Request, web.Application]
CLIENT_ID = "0b6b7d1e-2f4a-4c1e-9a57-5d0c1f6f9a10"
OTHER_CLIENT_ID = "5f0e9c43-88b3-4d0a-8c2a-7e1b2a3c4d5e"
USER_AGENT = "Host/laptop-7 ZenML/0.98.0 Python/3.11.7 OS/Linux"


async def start(
    client: Client, *, client_id: str = CLIENT_ID, user_agent: str = USER_AGENT
) -> dict[str, Any]:
    """POST /api/v1/device_authorization; return the RFC 8628 §3.2 body."""
    resp = await client.post(
        "/api/v1/device_authorization",
        data={"client_id": client_id},
        headers={"User-Agent": user_agent},
    )
    assert resp.status == 200, await resp.text()
    body: dict[str, Any] = await resp.json()
    return body


def device_id_of(authorization: dict[str, Any]) -> str:
    """The device id carried by ``verification_uri_complete``."""
    match = re.search(r"device_id=([0-9a-f-]+)", authorization["verification_uri_complete"])
    assert match is not None
    return match.group(1)


async def poll(client: Client, authorization: dict[str, Any], *, client_id: str = CLIENT_ID) -> Any:
    """One token request with the device code; returns the response."""
    return await client.post(
        "/api/v1/login",
        data={
            "grant_type": DEVICE_CODE_GRANT,
            "client_id": client_id,
            "device_code": authorization["device_code"],
        },
    )


async def approve(
    client: Client,
    token: str,
    authorization: dict[str, Any],
    *,
    trusted: bool = False,
    user_code: str | None = None,
) -> Any:
    """PUT /api/v1/devices/{id}/verify as the holder of ``token``; returns the response."""
    return await client.put(
        f"/api/v1/devices/{device_id_of(authorization)}/verify",
        json={
            "user_code": authorization["user_code"] if user_code is None else user_code,
            "trusted_device": trusted,
        },
        headers=bearer(token),
    )


async def device_token(
    client: Client, admin_token: str, *, trusted: bool = False, client_id: str = CLIENT_ID
) -> dict[str, Any]:
    """Run the whole grant as the admin; return the token response body."""
    authorization = await start(client, client_id=client_id)
    resp = await approve(client, admin_token, authorization, trusted=trusted)
    assert resp.status == 200, await resp.text()
    resp = await poll(client, authorization, client_id=client_id)
    assert resp.status == 200, await resp.text()
    body: dict[str, Any] = await resp.json()
    return body


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match is not None, html
    return match.group(1)


async def page_login(client: Client, name: str = "admin", password: str = ADMIN_PASSWORD) -> None:
    """Log this client's browser session in through the /login form."""
    page = await client.get("/login")
    resp = await client.post(
        "/login",
        data={"username": name, "password": password, "csrf_token": csrf_from(await page.text())},
        allow_redirects=False,
    )
    assert resp.status == 303, await resp.text()
