"""Logging in with an API key, using it as a bearer, rotation and revocation (injected clock)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.builders import bearer
from tests.openapi_check import checked
from tests.service_accounts.builders import (
    BASE,
    key_login,
    key_token,
    make_account_with_key,
    make_key,
    rotate,
    whoami,
)
from zenml_server.domain.secrets import new_api_key
from zenml_server.http.keys import SERVICES
from zenml_server.storage.store import Store


async def test_login_with_key_gives_short_lived_token(client: Any, admin_token: str) -> None:
    """grant_type=zenml-api-key answers a bearer token living the configured 60 minutes."""
    account, secret = await make_account_with_key(client, admin_token)
    resp = await key_login(client, secret)
    assert resp.status == 200
    assert resp.headers["Cache-Control"] == "no-store"
    body = await checked(resp)
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    me = await client.get("/api/v1/current-user", headers=bearer(body["access_token"]))
    who = await checked(me)
    assert who["id"] == account["id"] and who["name"] == "ci"
    assert who["is_service_account"] is True and who["is_admin"] is False
    assert who["auth"]["method"] == "api_key" and who["auth"]["expires"] is not None


async def test_token_lifetime_is_configurable(make_client: Any) -> None:
    """ZENML_SERVER_JWT_TOKEN_EXPIRE_MINUTES sets the key token's lifetime."""
    client = await make_client(jwt_token_expire_minutes=5)
    admin = await _admin_token(client)
    _, secret = await make_account_with_key(client, admin)
    assert (await (await key_login(client, secret)).json())["expires_in"] == 300


async def test_key_token_expires(client: Any, admin_token: str, clock: Any) -> None:
    """A key's token stops working when it expires (by the injected clock)."""
    _, secret = await make_account_with_key(client, admin_token)
    token = await key_token(client, secret)
    clock.advance(3599)
    assert await whoami(client, token) == 200
    clock.advance(2)
    assert await whoami(client, token) == 401


async def test_key_as_bearer(client: Any, admin_token: str) -> None:
    """The key itself works as a bearer credential."""
    account, secret = await make_account_with_key(client, admin_token)
    resp = await client.get("/api/v1/current-user", headers=bearer(secret))
    body = await checked(resp)
    assert body["id"] == account["id"] and body["auth"]["expires"] is None


async def test_service_account_is_not_admin(client: Any, admin_token: str) -> None:
    """A service account's credentials cannot administer service accounts."""
    _, secret = await make_account_with_key(client, admin_token)
    resp = await client.get(BASE, headers=bearer(secret))
    assert resp.status == 403


async def test_refused_keys_share_one_answer(client: Any, admin_token: str, clock: Any) -> None:
    """Unknown, malformed, inactive, rotated-out and deleted keys: one invalid_grant answer
    at login, one 401 as a bearer."""
    await make_account_with_key(client, admin_token, "ci")
    inactive = (await make_key(client, admin_token, "ci", "off"))["key"]
    await client.put(f"{BASE}/ci/api_keys/off", json={"active": False}, headers=bearer(admin_token))
    rotated = (await make_key(client, admin_token, "ci", "rot"))["key"]
    await rotate(client, admin_token, "ci", "rot", retain=0)
    deleted = (await make_key(client, admin_token, "ci", "gone"))["key"]
    await client.delete(f"{BASE}/ci/api_keys/gone", headers=bearer(admin_token))
    good = new_api_key()
    malformed = [
        good[:-1] + ("A" if good[-1] != "A" else "B"),
        "zenkey_short",
        "zenkey_" + "a" * 40,
        "zenkey_" + "A" * 5000,
        "nope",
        "\u00e9" * 10,
    ]
    candidates = [new_api_key(), inactive, rotated, deleted, *malformed]
    login_bodies, bearer_bodies = set(), set()
    for candidate in candidates:
        resp = await key_login(client, candidate)
        assert resp.status == 400, candidate
        assert "WWW-Authenticate" not in resp.headers
        login_bodies.add(str(await checked(resp)))
        resp = await client.get("/api/v1/current-user", headers=bearer(candidate))
        assert resp.status == 401
        body = await checked(resp)
        bearer_bodies.add((body["error"], body["detail"]))
    assert login_bodies == {"{'error': 'invalid_grant', 'error_description': 'invalid API key'}"}
    assert len(bearer_bodies) == 1


async def test_missing_password_is_invalid_request(client: Any) -> None:
    """The API-key grant without a key is RFC 6749 invalid_request."""
    resp = await client.post("/api/v1/login", data={"grant_type": "zenml-api-key"})
    assert resp.status == 400
    assert (await checked(resp))["error"] == "invalid_request"


async def test_rotation_with_retain_window(client: Any, admin_token: str, clock: Any) -> None:
    """After a rotation with N minutes the new key works at once; the old key and its tokens
    work N minutes, then stop."""
    _, old = await make_account_with_key(client, admin_token)
    old_token = await key_token(client, old)
    new = (await rotate(client, admin_token, "ci", "default", retain=10))["key"]
    assert await whoami(client, new) == 200
    assert await whoami(client, old) == 200
    assert await whoami(client, old_token) == 200
    clock.advance(9 * 60)
    late_token_resp = await key_login(client, old)
    assert late_token_resp.status == 200
    # A token from the previous key ends with the retain period at the latest.
    assert (await late_token_resp.json())["expires_in"] == 60
    late_token = (await late_token_resp.json())["access_token"]
    clock.advance(60 - 1)
    assert await whoami(client, old) == 200
    assert await whoami(client, old_token) == 200
    clock.advance(1)
    for credential in (old, old_token, late_token):
        assert await whoami(client, credential) == 401
    assert (await key_login(client, old)).status == 400
    assert await whoami(client, new) == 200
    assert await whoami(client, await key_token(client, new)) == 200


async def test_rotation_without_retain_stops_old_key_at_once(client: Any, admin_token: str) -> None:
    """Rotating with retain 0 refuses the old key and its tokens on the next request."""
    _, old = await make_account_with_key(client, admin_token)
    old_token = await key_token(client, old)
    assert await whoami(client, old) == 200
    new = (await rotate(client, admin_token, "ci", "default", retain=0))["key"]
    assert await whoami(client, old) == 401
    assert await whoami(client, old_token) == 401
    assert await whoami(client, new) == 200


async def test_second_rotation_ends_the_first_key(client: Any, admin_token: str) -> None:
    """Only the key just before the last rotation is retained, never older ones."""
    _, first = await make_account_with_key(client, admin_token)
    first_token = await key_token(client, first)
    second = (await rotate(client, admin_token, "ci", "default", retain=60))["key"]
    await rotate(client, admin_token, "ci", "default", retain=60)
    assert await whoami(client, first) == 401
    assert await whoami(client, first_token) == 401
    assert await whoami(client, second) == 200


async def test_deactivating_key_refuses_key_and_tokens(
    client: Any, admin_token: str, clock: Any
) -> None:
    """A deactivated key and every token from it are refused on the next request; reactivated,
    the key works again but tokens issued before the deactivation stay refused."""
    _, secret = await make_account_with_key(client, admin_token)
    token = await key_token(client, secret)
    assert await whoami(client, token) == 200 and await whoami(client, secret) == 200
    path = f"{BASE}/ci/api_keys/default"
    await client.put(path, json={"active": False}, headers=bearer(admin_token))
    assert await whoami(client, token) == 401
    assert await whoami(client, secret) == 401
    assert (await key_login(client, secret)).status == 400
    clock.advance(5)
    await client.put(path, json={"active": True}, headers=bearer(admin_token))
    assert await whoami(client, secret) == 200
    assert await whoami(client, token) == 401
    assert await whoami(client, await key_token(client, secret)) == 200


async def test_deactivating_account_refuses_its_keys(
    client: Any, admin_token: str, clock: Any
) -> None:
    """A deactivated account's keys and tokens are refused at once; reactivated, its keys work
    again but tokens issued before the deactivation stay refused."""
    _, secret = await make_account_with_key(client, admin_token)
    token = await key_token(client, secret)
    assert await whoami(client, token) == 200
    await client.put(f"{BASE}/ci", json={"active": False}, headers=bearer(admin_token))
    assert await whoami(client, token) == 401
    assert await whoami(client, secret) == 401
    assert (await key_login(client, secret)).status == 400
    clock.advance(5)
    await client.put(f"{BASE}/ci", json={"active": True}, headers=bearer(admin_token))
    assert await whoami(client, secret) == 200
    assert await whoami(client, token) == 401
    assert await whoami(client, await key_token(client, secret)) == 200


async def test_renamed_account_shows_new_name(client: Any, admin_token: str) -> None:
    """A renamed account's existing token reports the new name at once."""
    _, secret = await make_account_with_key(client, admin_token)
    token = await key_token(client, secret)
    await whoami(client, token)
    await client.put(f"{BASE}/ci", json={"name": "ci2"}, headers=bearer(admin_token))
    body = await (await client.get("/api/v1/current-user", headers=bearer(token))).json()
    assert body["name"] == "ci2"


@pytest.mark.parametrize("what", ["key", "account"])
async def test_deleting_refuses_key_and_tokens(client: Any, admin_token: str, what: str) -> None:
    """Deleting a key or its account refuses the key and its tokens on the next request."""
    _, secret = await make_account_with_key(client, admin_token)
    token = await key_token(client, secret)
    assert await whoami(client, token) == 200
    path = f"{BASE}/ci/api_keys/default" if what == "key" else f"{BASE}/ci"
    assert (await client.delete(path, headers=bearer(admin_token))).status == 204
    assert await whoami(client, token) == 401
    assert await whoami(client, secret) == 401


async def test_valid_requests_cost_no_lookup(client: Any, admin_token: str, store: Store) -> None:
    """Once cached, a key or its token is checked without touching the database."""
    _, secret = await make_account_with_key(client, admin_token)
    token = await key_token(client, secret)
    assert await whoami(client, secret) == 200 and await whoami(client, token) == 200
    calls = _count_calls(store, "find_by_digest", "get_key", "get_account")
    for _ in range(5):
        assert await whoami(client, secret) == 200
        assert await whoami(client, token) == 200
    assert calls == {"find_by_digest": 0, "get_key": 0, "get_account": 0}


async def test_malformed_keys_cost_no_lookup(client: Any, admin_token: str, store: Store) -> None:
    """A key with a wrong checksum or shape is refused before any database lookup."""
    _, secret = await make_account_with_key(client, admin_token)
    calls = _count_calls(store, "find_by_digest", "get_key", "get_account")
    typo = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    for candidate in (typo, secret[:-3], secret + "A", "zenkey_", "zenkey_" + "1" * 50):
        assert await whoami(client, candidate) == 401
        assert (await key_login(client, candidate)).status == 400
    assert calls == {"find_by_digest": 0, "get_key": 0, "get_account": 0}
    assert await whoami(client, new_api_key()) == 401
    assert calls["find_by_digest"] == 1


async def test_login_attempts_are_rate_limited(client: Any, admin_token: str, clock: Any) -> None:
    """API-key logins are limited per client address: 429 with Retry-After, then refilled."""
    _, secret = await make_account_with_key(client, admin_token)
    statuses = [(await key_login(client, new_api_key())).status for _ in range(30)]
    assert set(statuses) == {400}
    resp = await key_login(client, secret)
    assert resp.status == 429
    assert int(resp.headers["Retry-After"]) >= 1
    assert (await checked(resp))["error"] == "temporarily_unavailable"
    clock.advance(60)
    assert (await key_login(client, secret)).status == 200


async def test_last_login_is_batched(
    client: Any, admin_token: str, store: Store, clock: Any
) -> None:
    """Using a key writes nothing per request; last_login shows at once and is stored by the
    batched flush."""
    await make_account_with_key(client, admin_token)
    secret = (await make_key(client, admin_token, "ci", "k2"))["key"]
    clock.advance(100)
    used_at = clock.now()
    for _ in range(3):
        assert await whoami(client, secret) == 200
    shown = await (await client.get(f"{BASE}/ci/api_keys/k2", headers=bearer(admin_token))).json()
    assert shown["last_login"] is not None
    stored = await store.service_accounts.get_key_by_name(shown["service_account"]["id"], "k2")
    assert stored is not None and stored.last_login is None
    await client.app[SERVICES].wiring.last_used.flush()
    stored = await store.service_accounts.get_key_by_name(shown["service_account"]["id"], "k2")
    assert stored is not None and stored.last_login == used_at
    default = await store.service_accounts.get_key_by_name(
        shown["service_account"]["id"], "default"
    )
    assert default is not None and default.last_login is None


async def _admin_token(client: Any) -> str:
    from tests.builders import ADMIN_PASSWORD, login

    return await login(client, "admin", ADMIN_PASSWORD)


def _count_calls(store: Store, *names: str) -> dict[str, int]:
    """Wrap the real store methods so that calls to them are counted (behaviour unchanged)."""
    calls = dict.fromkeys(names, 0)
    target = store.service_accounts
    for name in names:
        real: Callable[..., Awaitable[Any]] = getattr(target, name)

        def counting(*args: Any, _name: str = name, _real: Any = real, **kwargs: Any) -> Any:
            calls[_name] += 1
            return _real(*args, **kwargs)

        setattr(target, name, counting)
    return calls
