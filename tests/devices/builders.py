"""Builders for authorized devices, made through the real device flow."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from tests.builders import bearer

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
USER_AGENT = "Host/laptop-1 ZenML/0.98.0 Python/3.11.7 OS/Linux"


@dataclass(frozen=True)
class ConnectedDevice:
    id: str
    token: str
    client_id: str


async def connect_device(
    client: Any, user_token: str, *, trusted: bool = False, hostname: str = "laptop-1"
) -> ConnectedDevice:
    """Authorize, approve (as the owner of ``user_token``) and poll: a device with a token."""
    client_id = str(uuid.uuid4())
    resp = await client.post(
        "/api/v1/device_authorization",
        data={"client_id": client_id},
        headers={"User-Agent": USER_AGENT.replace("laptop-1", hostname)},
    )
    assert resp.status == 200, await resp.text()
    auth = await resp.json()
    device_id = auth["verification_uri_complete"].split("device_id=")[1].split("&")[0]
    resp = await client.put(
        f"/api/v1/devices/{device_id}/verify",
        json={"user_code": auth["user_code"], "trusted_device": trusted},
        headers=bearer(user_token),
    )
    assert resp.status == 200, await resp.text()
    resp = await client.post(
        "/api/v1/login",
        data={
            "grant_type": DEVICE_GRANT,
            "client_id": client_id,
            "device_code": auth["device_code"],
        },
    )
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    return ConnectedDevice(body["device_id"], body["access_token"], client_id)
