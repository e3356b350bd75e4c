"""Signing keys: kid in every token, Ed25519 by default, JWKS, rotation, retirement, sealing."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from joserfc import jwt as jose_jwt
from joserfc.jwk import KeySet

from tests.builders import ADMIN_PASSWORD, JWT_SECRET, bearer, login
from zenml_server.domain.clock import ManualClock
from zenml_server.domain.sealing import Sealer, SealingError
from zenml_server.domain.signing_keys import configured_kid
from zenml_server.http.context import signing_keys
from zenml_server.http.keys import SERVICES
from zenml_server.services.tokens import Tokens
from zenml_server.settings import Settings
from zenml_server.storage.store import Store

ENCRYPTION_KEY = "encryption-key-" + "e" * 40
DAY = 86400.0


def header(token: str) -> dict[str, Any]:
    part = token.split(".")[0]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


async def eddsa_client(make_client: Any, **overrides: Any) -> Any:
    """The app with no configured secret: generated Ed25519 keys."""
    return await make_client(jwt_secret_key=None, **overrides)


async def admin_login(client: Any) -> str:
    return await login(client, "admin", ADMIN_PASSWORD)


async def published(client: Any) -> dict[str, Any]:
    resp = await client.get("/.well-known/jwks.json")
    assert resp.status == 200
    body: dict[str, Any] = await resp.json()
    return body


async def test_default_tokens_are_eddsa_with_kid_and_published(make_client: Any) -> None:
    """Without a configured secret tokens are EdDSA, name their kid, and that key is in JWKS."""
    client = await eddsa_client(make_client)
    token = await admin_login(client)
    head = header(token)
    assert head["alg"] == "EdDSA" and head["kid"]
    keys = (await published(client))["keys"]
    assert [k["kid"] for k in keys] == [head["kid"]]
    assert keys[0]["kty"] == "OKP" and keys[0]["crv"] == "Ed25519" and "d" not in keys[0]


# RFC 9864 prefers the fully specified "Ed25519" name; "EdDSA" is what verifiers widely
# understand today (and all PyJWT signs), so joserfc's deprecation notice is expected here.
@pytest.mark.filterwarnings("ignore:EdDSA is deprecated")
async def test_token_verifies_with_an_independent_library_from_jwks_alone(
    make_client: Any,
) -> None:
    """joserfc verifies a token using nothing but the published JWKS."""
    client = await eddsa_client(make_client)
    token = await admin_login(client)
    key_set = KeySet.import_key_set(await published(client))
    decoded = jose_jwt.decode(token, key_set, algorithms=["EdDSA"])
    assert decoded.claims["kind"] == "user" and decoded.claims["jti"]
    assert decoded.header["kid"] == header(token)["kid"]


async def test_configured_secret_signs_hs256_with_kid_and_is_never_published(
    make_client: Any,
) -> None:
    """ZENML_SERVER_JWT_SECRET_KEY still signs (HS256, with a kid) and JWKS stays empty."""
    client = await make_client()
    token = await admin_login(client)
    assert header(token) == {"alg": "HS256", "kid": configured_kid(JWT_SECRET), "typ": "JWT"}
    assert (await published(client))["keys"] == []
    assert (await client.get("/api/v1/current-user", headers=bearer(token))).status == 200


async def test_discovery_names_jwks_uri(make_client: Any) -> None:
    """The discovery document names the JWKS and introspection endpoints."""
    client = await eddsa_client(make_client, url="https://zenml.example.com")
    body = await (await client.get("/.well-known/oauth-authorization-server")).json()
    assert body["jwks_uri"] == "https://zenml.example.com/.well-known/jwks.json"
    assert body["introspection_endpoint"] == "https://zenml.example.com/api/v1/introspect"


async def test_rotation_keeps_old_tokens_and_retires_old_key(
    make_client: Any, clock: ManualClock
) -> None:
    """After a rotation the old token works, new ones use the new kid, and once every token
    of the old key has expired the old key leaves JWKS and its tokens are refused."""
    client = await eddsa_client(make_client)
    old_token = await admin_login(client)
    old_kid = header(old_token)["kid"]
    keys = client.app[SERVICES].signing_keys
    new, previous = await keys.rotate()
    assert previous is not None and previous.kid == old_kid and new.kid != old_kid
    new_token = await admin_login(client)
    assert header(new_token)["kid"] == new.kid
    assert (await client.get("/api/v1/current-user", headers=bearer(old_token))).status == 200
    assert {k["kid"] for k in (await published(client))["keys"]} == {old_kid, new.kid}
    settings = client.app[SERVICES].wiring.settings
    clock.advance(settings.max_token_lifetime + 1)
    assert [k["kid"] for k in (await published(client))["keys"]] == [new.kid]
    assert await keys.retire() == 1
    assert [s.key.kid for s in keys.states()] == [new.kid]


async def test_rotation_in_another_process_is_picked_up(
    make_client: Any, store: Store, clock: ManualClock
) -> None:
    """A key rotated by another process (`zenml-server keys rotate`, another replica):
    its tokens verify here at once, and this process signs with it after a reload."""
    client = await eddsa_client(make_client)
    services = client.app[SERVICES]
    other = signing_keys(store, services.wiring.settings, clock)
    await other.start()
    new, _ = await other.rotate()
    assert header(await admin_login(client))["kid"] != new.kid
    me = await (
        await client.get("/api/v1/current-user", headers=bearer(await admin_login(client)))
    ).json()
    elsewhere = Tokens(other, services.wiring.tokens.issuer, clock).issue(
        "user", me["id"], 60, gen=0
    )
    assert header(elsewhere.access_token)["kid"] == new.kid
    assert (
        await client.get("/api/v1/current-user", headers=bearer(elsewhere.access_token))
    ).status == 200
    assert header(await admin_login(client))["kid"] == new.kid


async def test_made_up_kids_reload_the_keys_at_most_once_a_second(make_client: Any) -> None:
    """Tokens naming unknown kids are refused, and cost one key reload per second at most."""
    import jwt

    client = await eddsa_client(make_client)
    keys = client.app[SERVICES].signing_keys
    reloads = 0
    original = keys.reload

    async def counting() -> None:
        nonlocal reloads
        reloads += 1
        await original()

    keys.reload = counting  # type: ignore[method-assign]
    for n in range(20):
        forged = jwt.encode({"sub": "x"}, "k" * 32, algorithm="HS256", headers={"kid": f"k{n}"})
        assert (await client.get("/api/v1/current-user", headers=bearer(forged))).status == 401
    assert reloads == 1


async def test_first_start_of_two_replicas_makes_one_key(store: Store, clock: ManualClock) -> None:
    """Two keyrings starting on one empty database end up with the same single key."""
    settings = Settings(jwt_secret_key=None)
    first, second = signing_keys(store, settings, clock), signing_keys(store, settings, clock)
    await first.start()
    await second.start()
    assert first.current().kid == second.current().kid
    assert len(await store.signing_keys.all()) == 1


async def test_keys_are_encrypted_at_rest_with_the_encryption_key(
    store: Store, clock: ManualClock
) -> None:
    """With ZENML_SERVER_ENCRYPTION_KEY the stored key material is sealed; without the key
    (or with another one) the server refuses to start rather than run with unusable keys."""
    settings = Settings(jwt_secret_key=None, encryption_key=ENCRYPTION_KEY)
    keys = signing_keys(store, settings, clock)
    await keys.start()
    stored = await store.signing_keys.all()
    assert all(row.material.startswith("aesgcm1:") for row in stored)
    raw = keys.current().signing.private_bytes_raw()
    assert all(base64.urlsafe_b64encode(raw).decode() not in row.material for row in stored)
    mac = await store.server_settings.get("mac_secret")
    assert mac is not None and mac.startswith("aesgcm1:")
    for wrong in (None, "another-key-" + "z" * 40):
        with pytest.raises(SealingError):
            await signing_keys(
                store, Settings(jwt_secret_key=None, encryption_key=wrong), clock
            ).start()


async def test_plain_keys_are_sealed_once_an_encryption_key_is_set(
    store: Store, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Keys made without an encryption key warn once at start, and are encrypted in place
    when the key is set later; tokens keep verifying."""
    plain = signing_keys(store, Settings(jwt_secret_key=None), clock)
    with caplog.at_level("WARNING"):
        await plain.start()
    assert [r.message for r in caplog.records if "ENCRYPTION_KEY" in r.message]
    sealed = signing_keys(
        store, Settings(jwt_secret_key=None, encryption_key=ENCRYPTION_KEY), clock
    )
    await sealed.start()
    assert sealed.current().kid == plain.current().kid
    assert all(row.material.startswith("aesgcm1:") for row in await store.signing_keys.all())
    mac = await store.server_settings.get("mac_secret")
    assert mac is not None and mac.startswith("aesgcm1:")
    assert sealed.mac_secret == plain.mac_secret


def test_sealer_binds_values_to_their_purpose() -> None:
    """A sealed value opens only for the purpose it was sealed for."""
    sealer = Sealer(ENCRYPTION_KEY)
    sealed = sealer.seal("kid-a", b"secret")
    assert sealer.open("kid-a", sealed) == b"secret"
    with pytest.raises(SealingError):
        sealer.open("kid-b", sealed)


async def test_tokens_from_before_signing_keys_verify_until_they_expire(
    make_client: Any, store: Store, clock: ManualClock
) -> None:
    """Upgrade: a kid-less HS256 token signed with the secret an older server generated
    keeps working until it expires; the plaintext secret leaves server_settings, and the old
    secret stops verifying once the longest token lifetime has passed."""
    import jwt

    legacy_secret = "generated-by-an-older-server-" + "s" * 30
    await store.server_settings.get_or_set("jwt_secret_key", legacy_secret)
    deployment = await store.server_settings.get_or_set("deployment_id", "dep-1")
    client = await eddsa_client(make_client)
    me = await (
        await client.get("/api/v1/current-user", headers=bearer(await admin_login(client)))
    ).json()
    now = clock.now()
    claims = {
        "iss": f"zenml-server:{deployment}",
        "sub": me["id"],
        "kind": "user",
        "gen": 0,
        "iat": now,
        "exp": int(now) + 3600,
        "jti": "legacy-jti",
    }
    old = jwt.encode(claims, legacy_secret, algorithm="HS256")
    assert (await client.get("/api/v1/current-user", headers=bearer(old))).status == 200
    assert await store.server_settings.get("jwt_secret_key") is None
    forged = jwt.encode({**claims, "exp": int(now) + 90 * 86400}, legacy_secret, algorithm="HS256")
    settings = client.app[SERVICES].wiring.settings
    clock.advance(settings.max_token_lifetime + 1)
    assert (await client.get("/api/v1/current-user", headers=bearer(forged))).status == 401


async def test_token_cannot_choose_its_algorithm(make_client: Any) -> None:
    """A token signed HS256 with the public key as secret, naming the EdDSA kid, is refused."""
    import jwt

    client = await eddsa_client(make_client)
    token = await admin_login(client)
    kid = header(token)["kid"]
    x = (await published(client))["keys"][0]["x"]
    payload = jwt.decode(token, options={"verify_signature": False})
    forged = jwt.encode(payload, x, algorithm="HS256", headers={"kid": kid})
    assert (await client.get("/api/v1/current-user", headers=bearer(forged))).status == 401
