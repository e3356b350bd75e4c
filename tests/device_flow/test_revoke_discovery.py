"""RFC 7009 revocation and RFC 8414 discovery."""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc8414 import AuthorizationServerMetadata

from tests.builders import bearer
from tests.device_flow.builders import device_token
from zenml_server.http.api.tokens import DEVICE_CODE_GRANT, PASSWORD_GRANT
from zenml_server.http.keys import STORE


async def test_revoke_device_token_revokes_device(client: Any, admin_token: str) -> None:
    """Revoking a device token deletes its device; the token is refused at once."""
    body = await device_token(client, admin_token)
    headers = bearer(body["access_token"])
    resp = await client.post("/api/v1/revoke", data={"token": body["access_token"]})
    assert resp.status == 200 and await resp.read() == b""
    assert resp.headers["Cache-Control"] == "no-store"
    assert (await client.get("/api/v1/current-user", headers=headers)).status == 401
    assert await client.app[STORE].devices.get(body["device_id"]) is None


async def test_revoke_unknown_token_is_200(client: Any, admin_token: str) -> None:
    """Unknown tokens with a token_type_hint answer 200 and change nothing (RFC 7009 §2.2)."""
    resp = await client.post(
        "/api/v1/revoke", data={"token": "garbage", "token_type_hint": "access_token"}
    )
    assert resp.status == 200
    assert (await client.get("/api/v1/current-user", headers=bearer(admin_token))).status == 200


async def test_revoke_twice_is_200(client: Any, admin_token: str) -> None:
    """Revoking an already revoked token is still 200."""
    body = await device_token(client, admin_token)
    for _ in range(2):
        resp = await client.post("/api/v1/revoke", data={"token": body["access_token"]})
        assert resp.status == 200


async def test_revoke_without_token_is_invalid_request(client: Any) -> None:
    """No token parameter, or not a form: invalid_request."""
    resp = await client.post("/api/v1/revoke", data={})
    assert resp.status == 400 and (await resp.json())["error"] == "invalid_request"
    resp = await client.post("/api/v1/revoke", json={"token": "x"})
    assert resp.status == 400 and (await resp.json())["error"] == "invalid_request"


async def test_server_metadata(make_client: Any) -> None:
    """The RFC 8414 document names every endpoint and grant, and passes Authlib's checks."""
    client = await make_client(url="https://zenml.example.com")
    resp = await client.get("/.well-known/oauth-authorization-server")
    assert resp.status == 200
    body = await resp.json()
    assert body["issuer"] == "https://zenml.example.com"
    assert body["token_endpoint"] == "https://zenml.example.com/api/v1/login"
    assert body["device_authorization_endpoint"] == (
        "https://zenml.example.com/api/v1/device_authorization"
    )
    assert body["revocation_endpoint"] == "https://zenml.example.com/api/v1/revoke"
    assert {DEVICE_CODE_GRANT, PASSWORD_GRANT} <= set(body["grant_types_supported"])
    assert body["token_endpoint_auth_methods_supported"] == ["none"]
    AuthorizationServerMetadata(body).validate()


async def test_issuer_does_not_follow_the_host_header(client: Any) -> None:
    """Without ZENML_SERVER_URL the issuer is derived from the listening address, whatever
    Host a request names."""
    url = "/.well-known/oauth-authorization-server"
    plain = await (await client.get(url)).json()
    spoofed = await (await client.get(url, headers={"Host": "evil.example"})).json()
    assert plain["issuer"] == spoofed["issuer"] == "http://127.0.0.1:8080"
