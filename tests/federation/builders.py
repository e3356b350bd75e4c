"""Builders for trust policies and token exchanges, made through the real API."""

from __future__ import annotations

from typing import Any

from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient

from tests.builders import bearer
from tests.federation.oidc_provider import AUDIENCE

Client = TestClient[web.Request, web.Application]
GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt"
MAIN_BRANCH = {"repository": "acme/pipelines", "ref": "refs/heads/main"}


def policies_path(account: str) -> str:
    return f"/api/v1/service_accounts/{account}/trust_policies"


async def add_policy(
    client: Client,
    admin_token: str,
    account: str,
    issuer: str,
    *,
    audience: str = AUDIENCE,
    claims: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Attach a trust policy to ``account``; return its JSON."""
    body = {"issuer": issuer, "audience": audience, "claims": claims or MAIN_BRANCH}
    resp = await client.post(policies_path(account), json=body, headers=bearer(admin_token))
    assert resp.status == 201, await resp.text()
    policy: dict[str, Any] = await resp.json()
    return policy


async def exchange(
    client: Client, subject_token: str, token_type: str = JWT_TYPE
) -> ClientResponse:
    """POST /api/v1/login with the token-exchange grant; return the raw response."""
    return await client.post(
        "/api/v1/login",
        data={
            "grant_type": GRANT,
            "subject_token": subject_token,
            "subject_token_type": token_type,
        },
    )


async def exchanged_token(client: Client, subject_token: str) -> str:
    resp = await exchange(client, subject_token)
    assert resp.status == 200, await resp.text()
    token: str = (await resp.json())["access_token"]
    return token


async def assert_refused(resp: ClientResponse) -> None:
    """The one answer to every refused subject token: invalid_grant, no hint."""
    assert resp.status == 400, await resp.text()
    assert await resp.json() == {
        "error": "invalid_grant",
        "error_description": "the subject token is not trusted",
    }
    assert resp.headers["Cache-Control"] == "no-store"
