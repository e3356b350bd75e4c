"""Builders for test data: small functions, each making one thing."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from zenml_server.settings import Settings

ADMIN_PASSWORD = "admin-password-1"
JWT_SECRET = "test-secret-" + "x" * 40


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": "sqlite:////nonexistent/unused.sqlite",
        "admin_username": "admin",
        "admin_password": ADMIN_PASSWORD,
        "jwt_secret_key": JWT_SECRET,
    }
    values.update(overrides)
    return Settings(**values)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def login(client: TestClient[web.Request, web.Application], name: str, password: str) -> str:
    """Log in with the password grant; return the access token."""
    resp = await client.post("/api/v1/login", data={"username": name, "password": password})
    assert resp.status == 200, await resp.text()
    token: str = (await resp.json())["access_token"]
    return token


async def make_user(
    client: TestClient[web.Request, web.Application],
    admin_token: str,
    name: str,
    password: str = "user-password-1",
    *,
    is_admin: bool = False,
) -> dict[str, Any]:
    """Create a user through the API; return its JSON."""
    resp = await client.post(
        "/api/v1/users",
        json={"name": name, "password": password, "is_admin": is_admin},
        headers=bearer(admin_token),
    )
    assert resp.status == 201, await resp.text()
    user: dict[str, Any] = await resp.json()
    return user
