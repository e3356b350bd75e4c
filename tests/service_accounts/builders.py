"""Builders for service accounts and API keys, made through the real API."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.builders import bearer

Client = TestClient[web.Request, web.Application]
BASE = "/api/v1/service_accounts"


async def make_account(
    client: Client, admin_token: str, name: str = "ci", **fields: Any
) -> dict[str, Any]:
    """Create a service account; return its JSON."""
    resp = await client.post(BASE, json={"name": name, **fields}, headers=bearer(admin_token))
    assert resp.status == 201, await resp.text()
    account: dict[str, Any] = await resp.json()
    return account


async def make_key(
    client: Client, admin_token: str, account: str = "ci", name: str = "default", **fields: Any
) -> dict[str, Any]:
    """Create an API key for ``account``; return its JSON (with the secret in ``key``)."""
    resp = await client.post(
        f"{BASE}/{account}/api_keys", json={"name": name, **fields}, headers=bearer(admin_token)
    )
    assert resp.status == 201, await resp.text()
    key: dict[str, Any] = await resp.json()
    return key


async def make_account_with_key(
    client: Client, admin_token: str, name: str = "ci"
) -> tuple[dict[str, Any], str]:
    """A service account and the secret of its ``default`` key."""
    account = await make_account(client, admin_token, name)
    key = await make_key(client, admin_token, name)
    return account, str(key["key"])


async def rotate(
    client: Client, admin_token: str, account: str, key: str, retain: int = 0
) -> dict[str, Any]:
    """Rotate a key; return the answer (with the new secret in ``key``)."""
    resp = await client.put(
        f"{BASE}/{account}/api_keys/{key}/rotate",
        json={"retain_period_minutes": retain},
        headers=bearer(admin_token),
    )
    assert resp.status == 200, await resp.text()
    body: dict[str, Any] = await resp.json()
    return body


async def key_login(client: Client, secret: str) -> Any:
    """POST /api/v1/login with the API-key grant; return the raw response."""
    return await client.post(
        "/api/v1/login", data={"grant_type": "zenml-api-key", "password": secret}
    )


async def key_token(client: Client, secret: str) -> str:
    """Exchange a key for an access token."""
    resp = await key_login(client, secret)
    assert resp.status == 200, await resp.text()
    token: str = (await resp.json())["access_token"]
    return token


async def whoami(client: Client, credential: str) -> int:
    """The status of GET /api/v1/current-user with ``credential`` as bearer."""
    resp = await client.get("/api/v1/current-user", headers=bearer(credential))
    return resp.status
