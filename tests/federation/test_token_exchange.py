"""Keyless login (RFC 8693 token exchange) against a real OpenID provider."""

from __future__ import annotations

import base64
import json
import uuid

from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.builders import bearer
from tests.federation.builders import (
    Client,
    add_policy,
    assert_refused,
    exchange,
    exchanged_token,
    policies_path,
)
from tests.federation.issuer import serving_issuer
from tests.federation.oidc_provider import OidcProvider
from tests.openapi_check import checked
from tests.service_accounts.builders import make_account, whoami
from zenml_server.domain.clock import ManualClock


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims_of(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    decoded: dict[str, object] = json.loads(base64.urlsafe_b64decode(payload + "=="))
    return decoded


async def test_matching_token_gets_a_service_account_token(
    client: Client, admin_token: str, oidc_provider: OidcProvider
) -> None:
    """A CI token whose issuer, audience and claims match a policy logs in as its account."""
    await make_account(client, admin_token, "ci")
    await add_policy(client, admin_token, "ci", oidc_provider.issuer)
    resp = await exchange(client, oidc_provider.ci_token("ci-main"))
    body = await checked(resp)
    assert resp.status == 200
    assert body["issued_token_type"] == "urn:ietf:params:oauth:token-type:access_token"
    assert body["token_type"] == "bearer" and body["expires_in"] == 15 * 60
    me = await client.get("/api/v1/current-user", headers=bearer(body["access_token"]))
    user = await checked(me)
    assert user["name"] == "ci" and user["is_service_account"] is True
    assert user["auth"]["method"] == "token_exchange" and user["auth"]["api_key_id"] is None


async def test_id_token_type_is_accepted(
    client: Client, admin_token: str, oidc_provider: OidcProvider
) -> None:
    """subject_token_type id_token is exchanged like jwt (both are JWTs checked the same way)."""
    await make_account(client, admin_token, "ci")
    await add_policy(client, admin_token, "ci", oidc_provider.issuer)
    id_token_type = "urn:ietf:params:oauth:token-type:id_token"
    resp = await exchange(client, oidc_provider.ci_token("ci-main"), id_token_type)
    assert resp.status == 200, await resp.text()


async def test_glob_claim_matches(
    client: Client, admin_token: str, oidc_provider: OidcProvider
) -> None:
    """A required claim with a glob pattern matches any value it covers."""
    await make_account(client, admin_token, "ci")
    claims = {"repository": "acme/*", "ref": "refs/heads/feature/*"}
    await add_policy(client, admin_token, "ci", oidc_provider.issuer, claims=claims)
    assert (await exchange(client, oidc_provider.ci_token("ci-feature"))).status == 200
    await assert_refused(await exchange(client, oidc_provider.ci_token("ci-main")))


async def test_wrong_audience_is_refused(
    client: Client, admin_token: str, oidc_provider: OidcProvider
) -> None:
    """A token made for another audience is refused."""
    await make_account(client, admin_token, "ci")
    await add_policy(client, admin_token, "ci", oidc_provider.issuer)
    token = oidc_provider.ci_token("ci-main", audience="https://other.example.com")
    await assert_refused(await exchange(client, token))


async def test_wrong_claim_is_refused(
    client: Client, admin_token: str, oidc_provider: OidcProvider
) -> None:
    """A token from another repository (a claim that does not match) is refused."""
    await make_account(client, admin_token, "ci")
    await add_policy(client, admin_token, "ci", oidc_provider.issuer)
    await assert_refused(await exchange(client, oidc_provider.ci_token("ci-other")))
    await assert_refused(await exchange(client, oidc_provider.ci_token("ci-feature")))


async def test_expired_token_is_refused(
    client: Client, admin_token: str, oidc_provider: OidcProvider, clock: ManualClock
) -> None:
    """A token past its exp (beyond the allowed clock skew) is refused."""
    await make_account(client, admin_token, "ci")
    await add_policy(client, admin_token, "ci", oidc_provider.issuer)
    token = oidc_provider.ci_token("ci-main")
    clock.advance(300 + 61)
    await assert_refused(await exchange(client, token))


async def test_replayed_token_is_refused(
    client: Client, admin_token: str, oidc_provider: OidcProvider
) -> None:
    """A subject token is exchanged once; the second attempt is refused."""
    await make_account(client, admin_token, "ci")
    await add_policy(client, admin_token, "ci", oidc_provider.issuer)
    token = oidc_provider.ci_token("ci-main")
    assert (await exchange(client, token)).status == 200
    await assert_refused(await exchange(client, token))


async def test_unknown_kid_is_refused(
    client: Client, admin_token: str, oidc_provider: OidcProvider
) -> None:
    """A token signed by a key the issuer does not publish is refused."""
    await make_account(client, admin_token, "ci")
    await add_policy(client, admin_token, "ci", oidc_provider.issuer)
    claims = _claims_of(oidc_provider.ci_token("ci-main"))
    claims["jti"] = uuid.uuid4().hex
    forger = RSAKey.generate_key(2048, parameters={"kid": "not-published"})
    forged = jwt.encode({"alg": "RS256", "kid": "not-published"}, claims, forger)
    await assert_refused(await exchange(client, forged))
    # The same key under the provider's own kid fails the signature check.
    stolen_kid = jwt.encode({"alg": "RS256", "kid": "test-key-1"}, claims, forger)
    await assert_refused(await exchange(client, stolen_kid))


async def test_alg_none_and_symmetric_algorithms_are_refused(
    client: Client, admin_token: str, oidc_provider: OidcProvider
) -> None:
    """Unsigned tokens (alg none) and HMAC-signed ones are refused."""
    await make_account(client, admin_token, "ci")
    await add_policy(client, admin_token, "ci", oidc_provider.issuer)
    real = oidc_provider.ci_token("ci-main")
    claims = _claims_of(real)
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    await assert_refused(await exchange(client, unsigned))
    none_with_signature = f"{_b64({'alg': 'none', 'kid': 'test-key-1'})}.{_b64(claims)}.c2ln"
    await assert_refused(await exchange(client, none_with_signature))
    hmac_header = _b64({"alg": "HS256", "kid": "test-key-1"})
    await assert_refused(await exchange(client, f"{hmac_header}.{_b64(claims)}.c2ln"))
    # The genuine token still works: none of the forgeries consumed it.
    assert (await exchange(client, real)).status == 200


async def test_unconfigured_issuer_is_refused_without_a_request(
    client: Client, admin_token: str, oidc_provider: OidcProvider
) -> None:
    """A token from an issuer no policy names is refused, and that issuer is never fetched."""
    await make_account(client, admin_token, "ci")
    await add_policy(client, admin_token, "ci", oidc_provider.issuer)
    async with serving_issuer() as stranger:
        token = stranger.token(repository="acme/pipelines", ref="refs/heads/main")
        await assert_refused(await exchange(client, token))
        assert stranger.fetches == {"discovery": 0, "jwks": 0}


async def test_more_than_one_matching_account_is_refused(
    client: Client, admin_token: str, oidc_provider: OidcProvider
) -> None:
    """When policies of two accounts match, the exchange is refused (no guessing)."""
    for name in ("ci", "ci-too"):
        await make_account(client, admin_token, name)
        await add_policy(client, admin_token, name, oidc_provider.issuer)
    await assert_refused(await exchange(client, oidc_provider.ci_token("ci-main")))


async def test_inactive_account_policies_do_not_match(
    client: Client, admin_token: str, oidc_provider: OidcProvider
) -> None:
    """A deactivated account's policy neither logs in nor makes another match ambiguous."""
    await make_account(client, admin_token, "ci")
    await make_account(client, admin_token, "old", active=False)
    await add_policy(client, admin_token, "ci", oidc_provider.issuer)
    await add_policy(client, admin_token, "old", oidc_provider.issuer)
    token = await exchanged_token(client, oidc_provider.ci_token("ci-main"))
    me = await client.get("/api/v1/current-user", headers=bearer(token))
    assert (await me.json())["name"] == "ci"


async def test_deactivating_the_account_refuses_exchanged_tokens(
    client: Client, admin_token: str, oidc_provider: OidcProvider
) -> None:
    """Deactivating the service account refuses its exchanged tokens on the next request."""
    await make_account(client, admin_token, "ci")
    await add_policy(client, admin_token, "ci", oidc_provider.issuer)
    token = await exchanged_token(client, oidc_provider.ci_token("ci-main"))
    assert await whoami(client, token) == 200
    resp = await client.put(
        "/api/v1/service_accounts/ci", json={"active": False}, headers=bearer(admin_token)
    )
    assert resp.status == 200
    assert await whoami(client, token) == 401
    await client.put(
        "/api/v1/service_accounts/ci", json={"active": True}, headers=bearer(admin_token)
    )
    assert await whoami(client, token) == 401


async def test_removing_the_policy_refuses_exchanged_tokens(
    client: Client, admin_token: str, oidc_provider: OidcProvider
) -> None:
    """Removing the trust policy refuses the tokens exchanged under it on the next request."""
    await make_account(client, admin_token, "ci")
    policy = await add_policy(client, admin_token, "ci", oidc_provider.issuer)
    token = await exchanged_token(client, oidc_provider.ci_token("ci-main"))
    assert await whoami(client, token) == 200
    resp = await client.delete(f"{policies_path('ci')}/{policy['id']}", headers=bearer(admin_token))
    assert resp.status == 204
    assert await whoami(client, token) == 401
    await assert_refused(await exchange(client, oidc_provider.ci_token("ci-main")))


async def test_keys_are_fetched_once_and_again_on_an_unknown_kid(
    client: Client, admin_token: str, clock: ManualClock
) -> None:
    """Many exchanges fetch the issuer's JWKS once; a rotated key (new kid) is fetched again,
    but unknown kids cannot make the server fetch more than once per 30 seconds."""
    await make_account(client, admin_token, "trainer")
    async with serving_issuer() as issuer:
        claims = {"sub": "system:serviceaccount:ml:trainer"}
        await add_policy(client, admin_token, "trainer", issuer.url, claims=claims)
        for _ in range(20):
            assert (await exchange(client, issuer.token())).status == 200
        assert issuer.fetches == {"discovery": 1, "jwks": 1}
        clock.advance(31)
        issuer.rotate()
        assert (await exchange(client, issuer.token())).status == 200
        assert issuer.fetches == {"discovery": 1, "jwks": 2}
        stranger = RSAKey.generate_key(2048, parameters={"kid": "unknown"})
        for _ in range(5):
            await assert_refused(await exchange(client, issuer.token(key=stranger)))
        assert issuer.fetches == {"discovery": 1, "jwks": 2}


async def test_a_token_without_jti_is_still_accepted_once(client: Client, admin_token: str) -> None:
    """Without a jti, the token's digest is what is remembered: a replay is refused."""
    await make_account(client, admin_token, "trainer")
    async with serving_issuer() as issuer:
        claims = {"sub": "system:serviceaccount:ml:*"}
        await add_policy(client, admin_token, "trainer", issuer.url, claims=claims)
        token = issuer.token(jti=None)
        assert (await exchange(client, token)).status == 200
        await assert_refused(await exchange(client, token))


async def test_bad_requests_get_invalid_request(client: Client) -> None:
    """Missing or unsupported parameters are invalid_request, in the RFC 6749 shape."""
    cases = [
        {},
        {"subject_token": "x"},
        {"subject_token": "x", "subject_token_type": "urn:ietf:params:oauth:token-type:saml2"},
        {
            "subject_token": "x",
            "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
            "actor_token": "y",
        },
        {
            "subject_token": "x" * 20_000,
            "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        },
    ]
    for fields in cases:
        resp = await client.post(
            "/api/v1/login",
            data={"grant_type": "urn:ietf:params:oauth:grant-type:token-exchange", **fields},
        )
        assert resp.status == 400, fields
        assert (await checked(resp))["error"] == "invalid_request"


async def test_garbage_subject_tokens_are_refused(client: Client) -> None:
    """Tokens that are not JWTs, or have no issuer, are invalid_grant, never a 500."""
    for garbage in ["x", "a.b.c", "....", f"{_b64({'alg': 'RS256'})}.{_b64({})}.c2ln", "é.é.é"]:
        await assert_refused(await exchange(client, garbage))


async def test_a_provider_that_is_down_is_not_asked_at_every_exchange(
    client: Client, admin_token: str, clock: ManualClock
) -> None:
    """While a trusted issuer's discovery fails, exchanges are refused and it is asked again
    only after a back-off, then works as soon as it is back."""
    await make_account(client, admin_token, "trainer")
    async with serving_issuer() as issuer:
        claims = {"sub": "system:serviceaccount:ml:trainer"}
        await add_policy(client, admin_token, "trainer", issuer.url, claims=claims)
        issuer.down = True
        for _ in range(5):
            await assert_refused(await exchange(client, issuer.token()))
        assert issuer.fetches["discovery"] == 1
        issuer.down = False
        clock.advance(11)
        assert (await exchange(client, issuer.token())).status == 200
        assert issuer.fetches == {"discovery": 2, "jwks": 1}
