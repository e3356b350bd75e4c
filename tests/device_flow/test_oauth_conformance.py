"""OAuth conformance: client_id, error codes, the issuer, extension grants (issue 9.7)."""

from __future__ import annotations

from typing import Any

import jwt
import pytest

from tests.builders import ADMIN_PASSWORD, bearer
from tests.device_flow.builders import approve, poll, start
from tests.openapi_check import checked
from tests.service_accounts.builders import make_account_with_key
from zenml_server.domain.clock import ManualClock
from zenml_server.http.api.tokens import API_KEY_GRANT, DEVICE_CODE_GRANT
from zenml_server.http.keys import SERVICES, STORE
from zenml_server.services.tokens import Tokens

ISSUER = "https://auth.example.com"
METADATA = "/.well-known/oauth-authorization-server"


def _iss(token: str) -> str:
    claims = jwt.decode(token, options={"verify_signature": False})
    issuer: str = claims["iss"]
    return issuer


@pytest.mark.parametrize(
    "client_id",
    ["zenml-cli", "my client/1.0 (x86_64)", "~!@#$%^&*()_+{}|:<>?`-=[]\\;',./\"", "c" * 128],
)
async def test_any_vschar_client_id_completes_the_device_flow(
    client: Any, admin_token: str, clock: ManualClock, client_id: str
) -> None:
    """A standard client with any RFC 6749 VSCHAR client_id of up to 128 characters (here
    ``zenml-cli``) gets codes, is approved and collects its token."""
    authorization = await start(client, client_id=client_id)
    assert (await poll(client, authorization, client_id=client_id)).status == 400
    assert (await approve(client, admin_token, authorization)).status == 200
    clock.advance(authorization["interval"])
    resp = await poll(client, authorization, client_id=client_id)
    assert resp.status == 200, await resp.text()
    body = await checked(resp)
    device = await client.get(f"/api/v1/devices/{body['device_id']}", headers=bearer(admin_token))
    assert (await device.json())["client_id"] == client_id


@pytest.mark.parametrize("client_id", ["c" * 129, "caf\u00e9", "tab\there", "nul\x01"])
async def test_client_id_outside_vschar_is_invalid_request(client: Any, client_id: str) -> None:
    """A client_id longer than 128 or with a character outside VSCHAR is invalid_request."""
    resp = await client.post("/api/v1/device_authorization", data={"client_id": client_id})
    assert resp.status == 400
    assert (await checked(resp))["error"] == "invalid_request"


async def test_bad_api_key_is_invalid_grant(client: Any, admin_token: str) -> None:
    """A wrong API key on the API-key grant is 400 invalid_grant, with no Basic challenge."""
    await make_account_with_key(client, admin_token)
    for grant_type in (API_KEY_GRANT, "zenml-api-key"):
        resp = await client.post(
            "/api/v1/login", data={"grant_type": grant_type, "password": "zenkey_wrong"}
        )
        assert resp.status == 400
        assert "WWW-Authenticate" not in resp.headers
        assert (await checked(resp))["error"] == "invalid_grant"


async def test_extension_grants_are_absolute_uris(client: Any, admin_token: str) -> None:
    """Discovery lists only absolute-URI extension grants; the API-key grant works under its
    URI and under the old ``zenml-api-key`` spelling."""
    body = await (await client.get(METADATA)).json()
    for grant in body["grant_types_supported"]:
        assert grant == "password" or grant.startswith("urn:"), grant
    assert API_KEY_GRANT in body["grant_types_supported"]
    assert "zenml-api-key" not in body["grant_types_supported"]
    _, secret = await make_account_with_key(client, admin_token)
    for grant_type in (API_KEY_GRANT, "zenml-api-key"):
        resp = await client.post(
            "/api/v1/login", data={"grant_type": grant_type, "password": secret}
        )
        assert resp.status == 200, await resp.text()


async def test_issuer_is_the_iss_of_every_token(make_client: Any) -> None:
    """The discovery issuer is ZENML_SERVER_URL whatever the Host header, and every kind of
    token (password, device, API key) carries it as ``iss``."""
    client = await make_client(url=ISSUER)
    for headers in ({}, {"Host": "evil.example"}, {"Host": "127.0.0.1:1"}):
        body = await (await client.get(METADATA, headers=headers)).json()
        assert body["issuer"] == ISSUER
    resp = await client.post(
        "/api/v1/login", data={"username": "admin", "password": ADMIN_PASSWORD}
    )
    admin_token = (await resp.json())["access_token"]
    authorization = await start(client, client_id="zenml-cli")
    await approve(client, admin_token, authorization)
    device_token = (await (await poll(client, authorization, client_id="zenml-cli")).json())[
        "access_token"
    ]
    _, secret = await make_account_with_key(client, admin_token)
    resp = await client.post(
        "/api/v1/login", data={"grant_type": API_KEY_GRANT, "password": secret}
    )
    key_token = (await resp.json())["access_token"]
    assert {_iss(t) for t in (admin_token, device_token, key_token)} == {ISSUER}


async def test_rate_limited_oauth_answers_are_registered_errors(client: Any) -> None:
    """A rate limit on an OAuth endpoint answers 429 temporarily_unavailable with
    Retry-After; on the device poll it is RFC 8628 slow_down."""
    for _ in range(20):
        await client.post("/api/v1/device_authorization", data={"client_id": "zenml-cli"})
    resp = await client.post("/api/v1/device_authorization", data={"client_id": "zenml-cli"})
    assert resp.status == 429 and int(resp.headers["Retry-After"]) > 0
    assert (await checked(resp))["error"] == "temporarily_unavailable"
    for _ in range(20):
        await client.post(
            "/api/v1/login",
            data={"grant_type": DEVICE_CODE_GRANT, "client_id": "zenml-cli", "device_code": "x"},
        )
    resp = await client.post(
        "/api/v1/login",
        data={"grant_type": DEVICE_CODE_GRANT, "client_id": "zenml-cli", "device_code": "x"},
    )
    assert resp.status == 400 and int(resp.headers["Retry-After"]) > 0
    assert (await checked(resp))["error"] == "slow_down"


async def test_tokens_with_the_old_issuer_still_work(make_client: Any, clock: ManualClock) -> None:
    """Tokens issued before the issuer became the server URL keep working until they expire."""
    client = await make_client(url=ISSUER)
    services, store = client.app[SERVICES], client.app[STORE]
    admin = await store.users.get_by_name("admin")
    keys = services.wiring.tokens.keys
    old = Tokens(keys, f"zenml-server:{services.deployment_id}", clock)
    token = old.issue("user", admin.id, 3600, gen=admin.credentials_generation).access_token
    resp = await client.get("/api/v1/current-user", headers=bearer(token))
    assert resp.status == 200
    stranger = Tokens(keys, "https://other.example.com", clock)
    token = stranger.issue("user", admin.id, 3600, gen=admin.credentials_generation).access_token
    resp = await client.get("/api/v1/current-user", headers=bearer(token))
    assert resp.status == 401
