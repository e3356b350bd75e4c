"""Bad input gets a clear 4xx in the documented shape, and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.builders import bearer
from tests.openapi_check import checked
from tests.service_accounts.builders import make_account, make_key
from zenml_server.http.keys import SERVICES
from zenml_server.http.openapi_doc import document
from zenml_server.storage.store import Store

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


async def _user_count(store: Store) -> int:
    return await store.users.count()


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b"username=admin&password=" + b"x" * 70_000, FORM, 413),
        (b'{"username": "admin"}', {"Content-Type": "application/json"}, 400),
        (b"username=\xff\xfe&password=x", FORM, 400),
        (b"username=a&username=b&password=x", FORM, 400),
        (b"username=admin", FORM, 400),
        (b"%%%", FORM, 400),
        (b"grant_type=client_credentials", FORM, 400),
        (b"username=admin&password=a%00b", FORM, 400),
    ],
    ids=["huge", "json", "not-utf8", "repeated", "missing", "garbled", "grant", "nul"],
)
async def test_token_endpoint_refuses_bad_forms(
    client: Any, store: Store, body: bytes, headers: dict[str, str], status: int
) -> None:
    """Malformed token requests answer RFC 6749 JSON with no-store, never a 500."""
    resp = await client.post("/api/v1/login", data=body, headers=headers)
    assert resp.status == status
    payload = await checked(resp)
    assert set(payload) == {"error", "error_description"}
    assert resp.headers["Cache-Control"] == "no-store"


async def test_unknown_grant_type_is_unsupported(client: Any) -> None:
    """An unknown grant_type answers unsupported_grant_type."""
    resp = await client.post("/api/v1/login", data={"grant_type": "magic"})
    assert (await resp.json())["error"] == "unsupported_grant_type"


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b'{"name": "' + b"x" * 70_000 + b'"}', {"Content-Type": "application/json"}, 413),
        (b"name=x", FORM, 415),
        (b"{not json", {"Content-Type": "application/json"}, 422),
        (b'["a list"]', {"Content-Type": "application/json"}, 422),
        (b'{"name": 5}', {"Content-Type": "application/json"}, 422),
        (b'{"name": "ok", "is_admin": "yes"}', {"Content-Type": "application/json"}, 422),
        (b'{"name": "ok", "password": "short"}', {"Content-Type": "application/json"}, 422),
        (b'{"name": " padded "}', {"Content-Type": "application/json"}, 422),
        (b'{"name": "\xff"}', {"Content-Type": "application/json"}, 422),
    ],
    ids=["huge", "form", "garbled", "list", "type", "bool", "weak", "spaces", "not-utf8"],
)
async def test_api_refuses_bad_json_and_changes_nothing(
    client: Any, store: Store, admin_token: str, body: bytes, headers: dict[str, str], status: int
) -> None:
    """Malformed API bodies answer the documented error shape and create nothing."""
    before = await _user_count(store)
    resp = await client.post("/api/v1/users", data=body, headers={**headers, **bearer(admin_token)})
    assert resp.status == status
    payload = await checked(resp)
    assert payload["request_id"] == resp.headers["X-Request-ID"]
    assert await _user_count(store) == before


async def test_unknown_api_path_is_json_404(client: Any) -> None:
    """An unknown API path answers the JSON error shape."""
    resp = await client.get("/api/v1/nothing-here")
    assert resp.status == 404
    assert (await resp.json())["error"] == "not_found"


async def test_wrong_method_is_json_405(client: Any) -> None:
    """A wrong method on an API path answers 405 in the JSON error shape."""
    resp = await client.delete("/api/v1/info")
    assert resp.status == 405
    assert (await resp.json())["error"] == "method_not_allowed"


async def test_unknown_page_is_html_404(client: Any) -> None:
    """An unknown page renders the error page, with the page security headers."""
    resp = await client.get("/no-such-page")
    assert resp.status == 404
    assert "text/html" in resp.headers["Content-Type"]
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    assert "Traceback" not in await resp.text()


@pytest.mark.parametrize(
    "header", ["Bearer", "Bearer ", "Basic abc", "Bearer not.a.jwt", "x" * 5000]
)
async def test_garbage_credentials_are_401(client: Any, header: str) -> None:
    """Garbled Authorization headers answer 401, never 500."""
    resp = await client.get("/api/v1/current-user", headers={"Authorization": header})
    assert resp.status == 401
    await checked(resp)


@pytest.mark.parametrize(
    "path", ["/api/v1/users/a%00b", "/api/v1/devices?status=a%00", "/api/v1/users?x=%00"]
)
async def test_nul_in_url_is_refused(client: Any, admin_token: str, path: str) -> None:
    """A NUL anywhere in the URL answers 422 on both engines, never a 500."""
    resp = await client.get(path, headers=bearer(admin_token))
    assert resp.status == 422


async def test_nul_in_json_is_refused(client: Any, store: Store, admin_token: str) -> None:
    """A NUL inside a JSON string answers 422 and creates nothing."""
    before = await _user_count(store)
    resp = await client.post(
        "/api/v1/users",
        data=b'{"name": "a\\u0000b", "password": "long-enough-1"}',
        headers={"Content-Type": "application/json", **bearer(admin_token)},
    )
    assert resp.status == 422
    assert await _user_count(store) == before


async def test_lone_surrogate_in_json_is_refused(
    client: Any, store: Store, admin_token: str
) -> None:
    """A lone surrogate escape in a JSON string answers 422 on both engines, never a 500."""
    before = await _user_count(store)
    resp = await client.post(
        "/api/v1/users",
        data=b'{"name": "a\\ud800b", "password": "long-enough-1"}',
        headers={"Content-Type": "application/json", **bearer(admin_token)},
    )
    assert resp.status == 422
    assert await _user_count(store) == before


@pytest.mark.parametrize(
    "path", ["/api/v1/users/%ff%fe", "/api/v1/devices?user=%ED%A0%80", "/api/v1/users/%ED%A0%80"]
)
async def test_undecodable_url_is_never_500(client: Any, admin_token: str, path: str) -> None:
    """Percent-escapes that are not UTF-8 in a path or query answer 4xx on both engines."""
    resp = await client.get(path, headers=bearer(admin_token))
    assert 400 <= resp.status < 500


OAUTH_ENDPOINTS = [
    "/api/v1/login",
    "/api/v1/revoke",
    "/api/v1/device_authorization",
    "/api/v1/device_authorization/cancel",
]


@pytest.mark.parametrize("path", OAUTH_ENDPOINTS)
@pytest.mark.parametrize(
    "body",
    [b"a'=1&a'=2", b'a"=1&a"=2', b"a\\=1&a\\=2", "é=1&é=2".encode(), b"%C3%A9=1&%C3%A9=2"],
    ids=["quote", "double-quote", "backslash", "non-ascii", "escaped-non-ascii"],
)
async def test_repeated_odd_field_name_is_invalid_request(
    client: Any, store: Store, path: str, body: bytes
) -> None:
    """A repeated form field whose name holds quotes, a backslash or non-ASCII answers 400
    invalid_request on every OAuth endpoint, never a 500, and writes nothing."""
    before = await store.db.fetchval("SELECT COUNT(*) FROM devices")
    resp = await client.post(path, data=body, headers=FORM)
    assert resp.status == 400
    payload = await checked(resp)
    assert payload["error"] == "invalid_request"
    assert await store.db.fetchval("SELECT COUNT(*) FROM devices") == before


@pytest.mark.parametrize("path", OAUTH_ENDPOINTS)
@pytest.mark.parametrize("content_type", ["application/json", "text/plain", "multipart/form-data"])
async def test_oauth_endpoints_answer_wrong_content_type_with_invalid_request(
    client: Any, path: str, content_type: str
) -> None:
    """RFC 6749: a wrong content type on any OAuth endpoint is 400 invalid_request, as the
    OpenAPI document says."""
    resp = await client.post(path, data=b"{}", headers={"Content-Type": content_type})
    assert resp.status == 400
    payload = await checked(resp)
    assert payload["error"] == "invalid_request"
    assert "415" not in document()["paths"][path]["post"]["responses"]


HUGE = "10000000000000000000"


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/devices?page={HUGE}",
        f"/api/v1/devices?size={HUGE}",
        f"/api/v1/service_accounts?page={HUGE}",
        f"/api/v1/service_accounts/ci/api_keys?page={HUGE}",
        "/api/v1/devices?page=1000001",
    ],
)
async def test_huge_page_is_422(client: Any, admin_token: str, path: str) -> None:
    """A page beyond the documented cap answers 422 on both engines, never a 500."""
    await client.post("/api/v1/service_accounts", json={"name": "ci"}, headers=bearer(admin_token))
    resp = await client.get(path, headers=bearer(admin_token))
    assert resp.status == 422
    await checked(resp)


async def test_largest_documented_page_is_answered(client: Any, admin_token: str) -> None:
    """The largest page the document allows is a valid, empty page."""
    resp = await client.get("/api/v1/devices?page=1000000&size=1000", headers=bearer(admin_token))
    assert resp.status == 200
    assert (await checked(resp))["items"] == []


@pytest.mark.parametrize(
    "body",
    [b"[" * 60_000, b'{"name": ' + b"[" * 60_000, b'{"name": ' + b"[" * 900 + b"]" * 900 + b"}"],
    ids=["bare", "in-object", "deep-but-closed"],
)
async def test_deeply_nested_json_is_422(
    client: Any, store: Store, admin_token: str, body: bytes
) -> None:
    """JSON nested deeper than any body needs answers 422, never a RecursionError 500."""
    before = await _user_count(store)
    resp = await client.post(
        "/api/v1/users",
        data=body,
        headers={"Content-Type": "application/json", **bearer(admin_token)},
    )
    assert resp.status == 422
    await checked(resp)
    assert await _user_count(store) == before


def _signed(client: Any, kind: str, subject: str, lifetime: int = 3600, **claims: Any) -> str:
    """A token the server itself signed, with whatever claims a forger would need the key for."""
    issued = client.app[SERVICES].wiring.tokens.issue(kind, subject, lifetime, **claims)
    return str(issued.access_token)


@pytest.mark.parametrize(
    ("kind", "subject", "lifetime", "claims"),
    [
        ("user", "admin", 400 * 365 * 24 * 3600 * 100, {}),
        ("user", "a\ud800b", 3600, {}),
        ("user", "a\x00b", 3600, {}),
        ("device", "a\ud800b", 3600, {"device_id": "d"}),
        ("device", "u", 3600, {"device_id": "\ud800"}),
        ("device", "u", 3600, {"device_id": "a\x00b"}),
        ("api_key", "a", 3600, {"api_key_id": "\ud800", "gen": 1}),
        ("api_key", "a", 3600, {"api_key_id": "a\x00b", "gen": 1}),
    ],
    ids=[
        "exp-past-9999",
        "surrogate-sub",
        "nul-sub",
        "device-surrogate-sub",
        "surrogate-device-id",
        "nul-device-id",
        "surrogate-api-key-id",
        "nul-api-key-id",
    ],
)
async def test_signed_token_with_unusable_claims_is_refused(
    client: Any, kind: str, subject: str, lifetime: int, claims: dict[str, Any]
) -> None:
    """A validly signed token whose exp is past year 9999 or whose ids hold a lone surrogate
    or NUL answers 401 on both engines (and /revoke answers 200), never a 500."""
    token = _signed(client, kind, subject, lifetime, **claims)
    resp = await client.get("/api/v1/current-user", headers=bearer(token))
    assert resp.status == 401
    await checked(resp)
    resp = await client.post("/api/v1/revoke", data={"token": token})
    assert resp.status == 200


async def test_integral_number_is_an_integer(client: Any, admin_token: str) -> None:
    """retain_period_minutes 5.0 is the integer 5, as the document's JSON Schema says; 5.5
    and null are refused."""
    await make_account(client, admin_token, "ci")
    await make_key(client, admin_token, "ci", "k")
    path = "/api/v1/service_accounts/ci/api_keys/k/rotate"
    for bad in (5.5, None, "5", True):
        resp = await client.put(
            path, json={"retain_period_minutes": bad}, headers=bearer(admin_token)
        )
        assert resp.status == 422, bad
    resp = await client.put(path, json={"retain_period_minutes": 5.0}, headers=bearer(admin_token))
    assert resp.status == 200
    assert (await checked(resp))["retain_period_minutes"] == 5


@pytest.mark.parametrize("limit", ["²", "٣", "0", "501", "10000000000000000000"])
async def test_audit_limit_takes_ascii_digits_only(
    client: Any, admin_token: str, limit: str
) -> None:
    """The audit log's limit refuses non-ASCII digits (² used to be a 500) and out-of-range
    values with 422."""
    resp = await client.get(f"/api/v1/audit?limit={limit}", headers=bearer(admin_token))
    assert resp.status == 422
    await checked(resp)
