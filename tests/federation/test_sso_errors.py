"""Single sign-on failures a person can act on, each a clear page and never a 500: provider
unreachable, wrong audience, clock skew, a forged or stale state, an unknown provider."""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.conftest import AppFactory
from tests.federation.issuer import Issuer, serving_issuer
from tests.servers import free_port
from zenml_server.settings import SsoProvider

Client = TestClient[web.Request, web.Application]
CLIENT_ID = "zenml-test"


def provider_for(issuer: str, **fields: Any) -> SsoProvider:
    values: dict[str, Any] = {
        "name": "fake",
        "issuer": issuer,
        "client_id": CLIENT_ID,
        "client_secret": "s3cret",
        "display_name": "Fake IdP",
    }
    values.update(fields)
    return SsoProvider(**values)


@pytest.fixture
async def issuer() -> AsyncIterator[Issuer]:
    async with serving_issuer() as served:
        yield served


async def _begin(client: Client) -> dict[str, str]:
    """Start a login; return the authorization request's parameters."""
    resp = await client.get("/sso/fake/login?next=/devices", allow_redirects=False)
    assert resp.status == 303, await resp.text()
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(resp.headers["Location"]).query)
    return {k: v[0] for k, v in query.items()}


async def _callback(client: Client, **params: str) -> Any:
    return await client.get("/sso/fake/callback", params=params, allow_redirects=False)


async def test_authorization_request_uses_pkce_state_and_nonce(
    make_client: AppFactory, issuer: Issuer
) -> None:
    """The provider is asked for a code with S256 PKCE, a state, a nonce and the exact
    redirect URI; the code is redeemed with the verifier and our client credentials."""
    client = await make_client(sso_providers=(provider_for(issuer.url),), url="http://zen.test")
    params = await _begin(client)
    assert params["response_type"] == "code" and params["client_id"] == CLIENT_ID
    assert params["code_challenge_method"] == "S256"
    assert params["redirect_uri"] == "http://zen.test/sso/fake/callback"
    assert params["scope"] == "openid profile email"
    issuer.id_token_claims = {"aud": CLIENT_ID, "nonce": params["nonce"], "sub": "u1"}
    resp = await _callback(client, code="c0de", state=params["state"])
    assert resp.status == 303 and resp.headers["Location"] == "/devices"
    sent = issuer.token_requests[0]
    assert sent["code"] == "c0de" and sent["redirect_uri"] == params["redirect_uri"]
    from authlib.oauth2.rfc7636 import create_s256_code_challenge

    assert create_s256_code_challenge(sent["code_verifier"]) == params["code_challenge"]


async def test_wrong_audience_is_a_clear_page(make_client: AppFactory, issuer: Issuer) -> None:
    """An ID token for another client is refused with a page naming the audience problem."""
    client = await make_client(sso_providers=(provider_for(issuer.url),))
    params = await _begin(client)
    issuer.id_token_claims = {"aud": "someone-else", "nonce": params["nonce"]}
    resp = await _callback(client, code="c", state=params["state"])
    assert resp.status == 400
    assert "wrong audience" in await resp.text()


async def test_clock_skew_is_a_clear_page(make_client: AppFactory, issuer: Issuer) -> None:
    """An ID token issued ten minutes in the server's future is refused as clock skew."""
    client = await make_client(sso_providers=(provider_for(issuer.url),))
    params = await _begin(client)
    future = int(time.time()) + 600
    issuer.id_token_claims = {
        "aud": CLIENT_ID,
        "nonce": params["nonce"],
        "iat": future,
        "nbf": future,
        "exp": future + 300,
    }
    resp = await _callback(client, code="c", state=params["state"])
    assert resp.status == 400
    assert "clocks" in await resp.text()


async def test_a_wrong_nonce_or_a_forged_state_is_refused(
    make_client: AppFactory, issuer: Issuer
) -> None:
    """The callback's state must be this browser's, and the ID token's nonce ours."""
    client = await make_client(sso_providers=(provider_for(issuer.url),))
    params = await _begin(client)
    issuer.id_token_claims = {"aud": CLIENT_ID, "nonce": "replayed-nonce"}
    resp = await _callback(client, code="c", state=params["state"])
    assert resp.status == 400 and "could not be verified" in await resp.text()
    forged = await _callback(client, code="c", state="attacker-state")
    assert forged.status == 400 and "not started in this browser" in await forged.text()
    client.session.cookie_jar.clear()
    no_cookie = await _callback(client, code="c", state=params["state"])
    assert no_cookie.status == 400
    assert "zenml_session" not in {c.key for c in client.session.cookie_jar}


async def test_unreachable_provider_is_a_clear_page(make_client: AppFactory) -> None:
    """A provider that does not answer gets a 502 page saying so, not a 500."""
    gone = f"http://127.0.0.1:{free_port()}"
    client = await make_client(sso_providers=(provider_for(gone),))
    resp = await client.get("/sso/fake/login", allow_redirects=False)
    assert resp.status == 502
    assert "cannot be reached" in await resp.text()


async def test_unknown_provider_is_404(make_client: AppFactory, issuer: Issuer) -> None:
    """A provider name that is not configured is a 404 page; nothing is fetched."""
    client = await make_client(sso_providers=(provider_for(issuer.url),))
    resp = await client.get("/sso/other/login", allow_redirects=False)
    assert resp.status == 404
    assert issuer.fetches["discovery"] == 0


async def test_password_form_can_be_turned_off(make_client: AppFactory, issuer: Issuer) -> None:
    """With PASSWORD_LOGIN=false the login page shows only the SSO buttons and refuses
    password posts."""
    client = await make_client(sso_providers=(provider_for(issuer.url),), password_login=False)
    page = await client.get("/login?next=/devices")
    text = await page.text()
    assert "Log in with Fake IdP" in text and 'name="password"' not in text
    assert "/sso/fake/login?next=/devices" in text
    both = await make_client(sso_providers=(provider_for(issuer.url),))
    text = await (await both.get("/login")).text()
    assert "Log in with Fake IdP" in text and 'name="password"' in text
