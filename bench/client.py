"""The HTTP calls the benchmark makes to set up credentials and to drive device flows."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import aiohttp

from bench.servers import ADMIN_PASSWORD

LOGIN = "/api/v1/login"
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
USER_AGENT = "Host/bench-host ZenML/0.80.0 Python/3.11.7 OS/Linux"


class Unexpected(RuntimeError):
    """The server answered something the benchmark did not expect."""


async def _json(response: aiohttp.ClientResponse, *expected: int) -> Any:
    body = await response.json(content_type=None)
    if response.status not in expected:
        raise Unexpected(f"{response.method} {response.url.path}: {response.status} {body}")
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def password_token(http: aiohttp.ClientSession, url: str) -> str:
    form = {"username": "admin", "password": ADMIN_PASSWORD}
    async with http.post(url + LOGIN, data=form) as r:
        return str((await _json(r, 200))["access_token"])


@dataclass(frozen=True)
class Authorization:
    client_id: str
    device_id: str
    device_code: str
    user_code: str


async def authorize(http: aiohttp.ClientSession, url: str) -> Authorization:
    client_id = str(uuid.uuid4())
    async with http.post(
        url + "/api/v1/device_authorization",
        data={"client_id": client_id},
        headers={"User-Agent": USER_AGENT},
    ) as r:
        body = await _json(r, 200)
    device_id = body["verification_uri_complete"].split("device_id=")[1].split("&")[0]
    return Authorization(client_id, device_id, body["device_code"], body["user_code"])


async def approve(
    http: aiohttp.ClientSession, url: str, admin_token: str, auth: Authorization
) -> None:
    async with http.put(
        f"{url}/api/v1/devices/{auth.device_id}/verify",
        json={"user_code": auth.user_code, "trusted_device": False},
        headers=bearer(admin_token),
    ) as r:
        await _json(r, 200)


async def poll(http: aiohttp.ClientSession, url: str, auth: Authorization) -> dict[str, Any]:
    form = {
        "grant_type": DEVICE_CODE_GRANT,
        "client_id": auth.client_id,
        "device_code": auth.device_code,
    }
    async with http.post(url + LOGIN, data=form) as r:
        body: dict[str, Any] = await _json(r, 200, 400)
        return body


async def current_user(http: aiohttp.ClientSession, url: str, token: str) -> int:
    async with http.get(url + "/api/v1/current-user", headers=bearer(token)) as r:
        await r.read()
        return r.status


async def device_flow(
    http: aiohttp.ClientSession, url: str, admin_token: str
) -> tuple[Authorization, str]:
    """A whole device login: authorize, approve, poll, use. Returns the device token."""
    auth = await authorize(http, url)
    await approve(http, url, admin_token, auth)
    body = await poll(http, url, auth)
    if "access_token" not in body:
        raise Unexpected(f"poll after approval: {body}")
    token = str(body["access_token"])
    status = await current_user(http, url, token)
    if status != 200:
        raise Unexpected(f"current-user with a fresh device token: {status}")
    return auth, token


@dataclass(frozen=True)
class ApiKey:
    account_id: str
    key_id: str
    secret: str


async def create_api_key(http: aiohttp.ClientSession, url: str, admin_token: str) -> ApiKey:
    base = url + "/api/v1/service_accounts"
    name = f"bench-{secrets.token_hex(4)}"
    async with http.post(base, json={"name": name}, headers=bearer(admin_token)) as r:
        account = await _json(r, 201)
    async with http.post(
        f"{base}/{account['id']}/api_keys", json={"name": "key"}, headers=bearer(admin_token)
    ) as r:
        key = await _json(r, 201)
    return ApiKey(account["id"], key["id"], key["key"])


async def api_key_token(http: aiohttp.ClientSession, url: str, key: str) -> str:
    async with http.post(url + LOGIN, data={"grant_type": "zenml-api-key", "password": key}) as r:
        return str((await _json(r, 200))["access_token"])


async def set_key_active(
    http: aiohttp.ClientSession, url: str, admin_token: str, key: ApiKey, active: bool
) -> None:
    async with http.put(
        f"{url}/api/v1/service_accounts/{key.account_id}/api_keys/{key.key_id}",
        json={"active": active},
        headers=bearer(admin_token),
    ) as r:
        await _json(r, 200)


async def lock_device(
    http: aiohttp.ClientSession, url: str, admin_token: str, device_id: str
) -> None:
    async with http.put(
        f"{url}/api/v1/devices/{device_id}", json={"locked": True}, headers=bearer(admin_token)
    ) as r:
        await _json(r, 200)
