"""The service-account and API-key endpoints, on each engine, checked against OpenAPI."""

from __future__ import annotations

from typing import Any

from tests.builders import bearer, login, make_user
from tests.openapi_check import checked
from tests.service_accounts.builders import BASE, make_account, make_key, rotate
from zenml_server.domain.secrets import looks_like_api_key


async def test_create_account(client: Any, admin_token: str) -> None:
    """POST creates an account: 201 with its fields, active by default."""
    resp = await client.post(
        BASE, json={"name": "ci", "description": "builds"}, headers=bearer(admin_token)
    )
    assert resp.status == 201
    body = await checked(resp)
    assert body["name"] == "ci" and body["description"] == "builds" and body["active"] is True
    assert body["created"].endswith("Z")


async def test_create_inactive_account(client: Any, admin_token: str) -> None:
    """POST with active=false creates an inactive account."""
    resp = await client.post(
        BASE, json={"name": "off", "active": False}, headers=bearer(admin_token)
    )
    assert (await checked(resp))["active"] is False


async def test_duplicate_account_is_conflict(client: Any, admin_token: str) -> None:
    """A taken account name answers 409."""
    await make_account(client, admin_token, "ci")
    resp = await client.post(BASE, json={"name": "ci"}, headers=bearer(admin_token))
    assert resp.status == 409
    assert (await checked(resp))["error"] == "conflict"


async def test_create_account_bad_input(client: Any, admin_token: str) -> None:
    """Missing, wrong-typed or oversized fields and non-JSON bodies are 422/415, never 500."""
    headers = bearer(admin_token)
    for payload in (
        {},
        {"name": ""},
        {"name": 5},
        {"name": " x"},
        {"name": "x" * 200},
        {"name": "a", "description": 3},
        {"name": "a", "active": "yes"},
        {"name": "a", "description": "d" * 2000},
        {"name": "a\x00b"},
    ):
        resp = await client.post(BASE, json=payload, headers=headers)
        assert resp.status == 422, payload
        await checked(resp)
    resp = await client.post(
        BASE, data="[1]", headers={**headers, "Content-Type": "application/json"}
    )
    assert resp.status == 422
    resp = await client.post(
        BASE, data="{", headers={**headers, "Content-Type": "application/json"}
    )
    assert resp.status == 422
    resp = await client.post(BASE, data="name=x", headers=headers)
    assert resp.status == 415
    await checked(resp)


async def test_account_endpoints_need_admin(client: Any, admin_token: str) -> None:
    """Without a token 401; a non-admin user 403, on every endpoint."""
    await make_user(client, admin_token, "pat", "pat-password-1")
    user_token = await login(client, "pat", "pat-password-1")
    calls = [
        ("GET", BASE),
        ("POST", BASE),
        ("GET", f"{BASE}/x"),
        ("PUT", f"{BASE}/x"),
        ("DELETE", f"{BASE}/x"),
        ("GET", f"{BASE}/x/api_keys"),
        ("POST", f"{BASE}/x/api_keys"),
        ("GET", f"{BASE}/x/api_keys/k"),
        ("PUT", f"{BASE}/x/api_keys/k"),
        ("DELETE", f"{BASE}/x/api_keys/k"),
        ("PUT", f"{BASE}/x/api_keys/k/rotate"),
    ]
    for method, path in calls:
        resp = await client.request(method, path, json={})
        assert resp.status == 401, (method, path)
        await checked(resp)
        resp = await client.request(method, path, json={}, headers=bearer(user_token))
        assert resp.status == 403, (method, path)
        await checked(resp)


async def test_list_accounts_filters_and_pages(client: Any, admin_token: str) -> None:
    """GET lists by name with name/active filters and page/size."""
    for name in ("a1", "a2", "a3"):
        await make_account(client, admin_token, name)
    await make_account(client, admin_token, "b0", active=False)
    headers = bearer(admin_token)
    body = await checked(await client.get(BASE, headers=headers))
    assert [a["name"] for a in body["items"]] == ["a1", "a2", "a3", "b0"] and body["total"] == 4
    body = await checked(await client.get(BASE, params={"size": "2", "page": "2"}, headers=headers))
    assert [a["name"] for a in body["items"]] == ["a3", "b0"]
    assert (body["total"], body["page"], body["size"]) == (4, 2, 2)
    body = await checked(await client.get(BASE, params={"active": "false"}, headers=headers))
    assert [a["name"] for a in body["items"]] == ["b0"]
    body = await checked(await client.get(BASE, params={"active": "true"}, headers=headers))
    assert body["total"] == 3
    body = await checked(await client.get(BASE, params={"name": "a2"}, headers=headers))
    assert [a["name"] for a in body["items"]] == ["a2"]
    for params in ({"page": "0"}, {"size": "x"}, {"active": "maybe"}, {"name": "n" * 300}):
        resp = await client.get(BASE, params=params, headers=headers)
        assert resp.status == 422, params
        await checked(resp)


async def test_get_account_by_name_or_id(client: Any, admin_token: str) -> None:
    """GET finds an account by name or by id; unknown is 404."""
    account = await make_account(client, admin_token, "ci")
    headers = bearer(admin_token)
    assert (await checked(await client.get(f"{BASE}/ci", headers=headers)))["id"] == account["id"]
    by_id = await checked(await client.get(f"{BASE}/{account['id']}", headers=headers))
    assert by_id["name"] == "ci"
    resp = await client.get(f"{BASE}/nobody", headers=headers)
    assert resp.status == 404
    assert (await checked(resp))["error"] == "not_found"


async def test_update_account(client: Any, admin_token: str) -> None:
    """PUT renames, describes and deactivates; a taken name is 409; unknown is 404."""
    await make_account(client, admin_token, "ci")
    await make_account(client, admin_token, "other")
    headers = bearer(admin_token)
    resp = await client.put(
        f"{BASE}/ci", json={"name": "ci2", "description": "d", "active": False}, headers=headers
    )
    body = await checked(resp)
    assert (body["name"], body["description"], body["active"]) == ("ci2", "d", False)
    resp = await client.put(f"{BASE}/ci2", json={"name": "other"}, headers=headers)
    assert resp.status == 409
    await checked(resp)
    resp = await client.put(f"{BASE}/nobody", json={"active": True}, headers=headers)
    assert resp.status == 404
    await checked(resp)
    resp = await client.put(f"{BASE}/ci2", json={"active": 1}, headers=headers)
    assert resp.status == 422
    await checked(resp)
    resp = await client.put(f"{BASE}/ci2", data="x", headers=headers)
    assert resp.status == 415
    await checked(resp)


async def test_delete_account_deletes_its_keys(client: Any, admin_token: str) -> None:
    """DELETE removes the account and its keys: 204, then 404."""
    await make_account(client, admin_token, "ci")
    await make_key(client, admin_token, "ci", "k1")
    headers = bearer(admin_token)
    resp = await client.delete(f"{BASE}/ci", headers=headers)
    assert resp.status == 204
    await checked(resp)
    resp = await client.delete(f"{BASE}/ci", headers=headers)
    assert resp.status == 404
    await checked(resp)
    await make_account(client, admin_token, "ci")
    keys = await checked(await client.get(f"{BASE}/ci/api_keys", headers=headers))
    assert keys["items"] == []


async def test_create_key_shows_secret_once(client: Any, admin_token: str) -> None:
    """POST api_keys answers 201 with the secret; GET never shows it."""
    account = await make_account(client, admin_token, "ci")
    headers = bearer(admin_token)
    resp = await client.post(
        f"{BASE}/ci/api_keys", json={"name": "k1", "description": "d"}, headers=headers
    )
    assert resp.status == 201
    assert resp.headers["Cache-Control"] == "no-store"
    body = await checked(resp)
    assert looks_like_api_key(body["key"])
    assert body["service_account"] == {"id": account["id"], "name": "ci"}
    assert body["active"] is True and body["last_login"] is None and body["last_rotated"] is None
    assert body["retain_period_minutes"] == 0
    got = await checked(await client.get(f"{BASE}/ci/api_keys/k1", headers=headers))
    assert "key" not in got and got["id"] == body["id"]
    listed = await checked(await client.get(f"{BASE}/ci/api_keys", headers=headers))
    assert "key" not in listed["items"][0]


async def test_create_key_errors(client: Any, admin_token: str) -> None:
    """Unknown account 404, taken key name 409, bad body 422/415."""
    headers = bearer(admin_token)
    resp = await client.post(f"{BASE}/nobody/api_keys", json={"name": "k"}, headers=headers)
    assert resp.status == 404
    await checked(resp)
    await make_account(client, admin_token, "ci")
    await make_key(client, admin_token, "ci", "k1")
    resp = await client.post(f"{BASE}/ci/api_keys", json={"name": "k1"}, headers=headers)
    assert resp.status == 409
    await checked(resp)
    for payload in ({}, {"name": 1}, {"name": "k", "description": ["x"]}):
        resp = await client.post(f"{BASE}/ci/api_keys", json=payload, headers=headers)
        assert resp.status == 422, payload
        await checked(resp)
    resp = await client.post(f"{BASE}/ci/api_keys", data="n", headers=headers)
    assert resp.status == 415
    await checked(resp)


async def test_same_key_name_in_two_accounts(client: Any, admin_token: str) -> None:
    """Key names are unique per account only."""
    await make_account(client, admin_token, "a")
    await make_account(client, admin_token, "b")
    await make_key(client, admin_token, "a", "default")
    await make_key(client, admin_token, "b", "default")


async def test_list_and_get_keys(client: Any, admin_token: str) -> None:
    """GET api_keys pages the account's keys; GET one by name or id; others' keys are 404."""
    account = await make_account(client, admin_token, "ci")
    await make_account(client, admin_token, "other")
    other_key = await make_key(client, admin_token, "other", "theirs")
    ids = [(await make_key(client, admin_token, "ci", f"k{i}"))["id"] for i in range(3)]
    headers = bearer(admin_token)
    body = await checked(
        await client.get(f"{BASE}/{account['id']}/api_keys", params={"size": "2"}, headers=headers)
    )
    assert [k["name"] for k in body["items"]] == ["k0", "k1"] and body["total"] == 3
    got = await checked(await client.get(f"{BASE}/ci/api_keys/{ids[2]}", headers=headers))
    assert got["name"] == "k2"
    for path in (
        f"{BASE}/ci/api_keys/{other_key['id']}",
        f"{BASE}/ci/api_keys/nope",
        f"{BASE}/nobody/api_keys",
        f"{BASE}/nobody/api_keys/k0",
    ):
        resp = await client.get(path, headers=headers)
        assert resp.status == 404, path
        await checked(resp)
    resp = await client.get(f"{BASE}/ci/api_keys", params={"size": "0"}, headers=headers)
    assert resp.status == 422
    await checked(resp)


async def test_update_key(client: Any, admin_token: str) -> None:
    """PUT renames, describes and deactivates a key; 409 on a taken name; 404 unknown."""
    await make_account(client, admin_token, "ci")
    await make_key(client, admin_token, "ci", "k1")
    await make_key(client, admin_token, "ci", "k2")
    headers = bearer(admin_token)
    resp = await client.put(
        f"{BASE}/ci/api_keys/k1",
        json={"name": "k3", "description": "d", "active": False},
        headers=headers,
    )
    body = await checked(resp)
    assert (body["name"], body["description"], body["active"]) == ("k3", "d", False)
    resp = await client.put(f"{BASE}/ci/api_keys/k3", json={"name": "k2"}, headers=headers)
    assert resp.status == 409
    await checked(resp)
    resp = await client.put(f"{BASE}/ci/api_keys/nope", json={}, headers=headers)
    assert resp.status == 404
    await checked(resp)
    resp = await client.put(f"{BASE}/ci/api_keys/k3", json={"name": ""}, headers=headers)
    assert resp.status == 422
    await checked(resp)
    resp = await client.put(f"{BASE}/ci/api_keys/k3", data="x", headers=headers)
    assert resp.status == 415
    await checked(resp)


async def test_rotate_key(client: Any, admin_token: str, clock: Any) -> None:
    """PUT rotate answers the key with a new secret, last_rotated and the retain period."""
    await make_account(client, admin_token, "ci")
    created = await make_key(client, admin_token, "ci", "k1")
    clock.advance(10)
    resp = await client.put(
        f"{BASE}/ci/api_keys/k1/rotate",
        json={"retain_period_minutes": 30},
        headers=bearer(admin_token),
    )
    body = await checked(resp)
    assert body["key"] != created["key"] and looks_like_api_key(body["key"])
    assert body["retain_period_minutes"] == 30 and body["last_rotated"] is not None
    again = await rotate(client, admin_token, "ci", "k1")
    assert again["retain_period_minutes"] == 0


async def test_rotate_key_errors(client: Any, admin_token: str) -> None:
    """Rotate refuses a bad retain period (422), unknown keys (404) and non-JSON (415)."""
    await make_account(client, admin_token, "ci")
    await make_key(client, admin_token, "ci", "k1")
    headers = bearer(admin_token)
    path = f"{BASE}/ci/api_keys/k1/rotate"
    for retain in (-1, 1.5, "5", True, None, 10**9):
        resp = await client.put(path, json={"retain_period_minutes": retain}, headers=headers)
        assert resp.status == 422, retain
        await checked(resp)
    resp = await client.put(f"{BASE}/ci/api_keys/nope/rotate", json={}, headers=headers)
    assert resp.status == 404
    await checked(resp)
    resp = await client.put(path, data="x", headers=headers)
    assert resp.status == 415
    await checked(resp)


async def test_delete_key(client: Any, admin_token: str) -> None:
    """DELETE a key: 204, then 404."""
    await make_account(client, admin_token, "ci")
    await make_key(client, admin_token, "ci", "k1")
    headers = bearer(admin_token)
    resp = await client.delete(f"{BASE}/ci/api_keys/k1", headers=headers)
    assert resp.status == 204
    await checked(resp)
    resp = await client.delete(f"{BASE}/ci/api_keys/k1", headers=headers)
    assert resp.status == 404
    await checked(resp)


async def test_unstorable_text_is_never_500(client: Any, admin_token: str) -> None:
    """NUL characters (which PostgreSQL refuses) in paths, filters and descriptions are
    answered 422, never 500."""
    await make_account(client, admin_token, "ci")
    await make_key(client, admin_token, "ci", "k")
    headers = bearer(admin_token)
    for method, path, body, status in [
        ("GET", f"{BASE}/%00", None, 422),
        ("GET", f"{BASE}/ci%00", None, 422),
        ("GET", f"{BASE}/ci/api_keys/%00", None, 422),
        ("PUT", f"{BASE}/ci/api_keys/k%00/rotate", {}, 422),
        ("DELETE", f"{BASE}/%00", None, 422),
        ("GET", f"{BASE}?name=%00", None, 422),
        ("POST", BASE, {"name": "x", "description": "a\u0000b"}, 422),
        ("PUT", f"{BASE}/ci", {"description": "a\u0000b"}, 422),
        ("POST", f"{BASE}/ci/api_keys", {"name": "k2", "description": "\u0000"}, 422),
        ("PUT", f"{BASE}/ci/api_keys/k", {"name": "k\u0000"}, 422),
    ]:
        resp = await client.request(method, path, json=body, headers=headers)
        assert resp.status == status, (method, path)
        await checked(resp)
