"""The foundation's endpoints against the real app on each engine."""

from __future__ import annotations

from typing import Any

from tests.builders import ADMIN_PASSWORD, bearer, login, make_user


async def test_health_answers_without_io(client: Any) -> None:
    """GET /health answers 200 {"status": "ok"}."""
    resp = await client.get("/health")
    assert resp.status == 200
    assert await resp.json() == {"status": "ok"}


async def test_ready_when_database_answers(client: Any) -> None:
    """GET /ready is 200 while the database answers."""
    resp = await client.get("/ready")
    assert resp.status == 200


async def test_info_reports_stable_deployment(client: Any, engine: str) -> None:
    """GET /api/v1/info names the deployment, the auth scheme and the engine."""
    body = await (await client.get("/api/v1/info")).json()
    assert body["auth_scheme"] == "OAUTH2_PASSWORD_BEARER"
    assert body["database"] == engine
    again = await (await client.get("/api/v1/info")).json()
    assert again["id"] == body["id"]


async def test_password_login_and_current_user(client: Any) -> None:
    """The admin logs in with the password grant and sees itself at current-user."""
    token = await login(client, "admin", ADMIN_PASSWORD)
    resp = await client.get("/api/v1/current-user", headers=bearer(token))
    assert resp.status == 200
    body = await resp.json()
    assert body["name"] == "admin" and body["is_admin"] is True
    assert body["auth"]["method"] == "password"


async def test_wrong_password_is_invalid_grant(client: Any) -> None:
    """A wrong password answers RFC 6749 invalid_grant, not cached."""
    resp = await client.post("/api/v1/login", data={"username": "admin", "password": "nope-nope"})
    assert resp.status == 400
    assert (await resp.json())["error"] == "invalid_grant"
    assert resp.headers["Cache-Control"] == "no-store"


async def test_protected_endpoint_without_token_is_401(client: Any) -> None:
    """No credentials: 401 with WWW-Authenticate: Bearer and the documented body."""
    resp = await client.get("/api/v1/current-user")
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"] == "Bearer"
    body = await resp.json()
    assert body["error"] == "unauthorized" and body["request_id"] == resp.headers["X-Request-ID"]


async def test_password_change_ends_old_tokens(client: Any, admin_token: str) -> None:
    """Changing a user's password refuses tokens issued before, on the next request."""
    await make_user(client, admin_token, "alice", "alice-password-1")
    token = await login(client, "alice", "alice-password-1")
    assert (await client.get("/api/v1/current-user", headers=bearer(token))).status == 200
    resp = await client.put(
        "/api/v1/users/alice", json={"password": "alice-password-2"}, headers=bearer(admin_token)
    )
    assert resp.status == 200
    assert (await client.get("/api/v1/current-user", headers=bearer(token))).status == 401


async def test_deactivated_user_cannot_log_in(client: Any, admin_token: str) -> None:
    """A deactivated user's token is refused and a new login fails."""
    await make_user(client, admin_token, "bob", "bob-password-1")
    token = await login(client, "bob", "bob-password-1")
    await client.put("/api/v1/users/bob", json={"active": False}, headers=bearer(admin_token))
    assert (await client.get("/api/v1/current-user", headers=bearer(token))).status == 401
    resp = await client.post(
        "/api/v1/login", data={"username": "bob", "password": "bob-password-1"}
    )
    assert resp.status == 400


async def test_non_admin_cannot_create_users(client: Any, admin_token: str) -> None:
    """User administration needs an admin: 403 for others."""
    await make_user(client, admin_token, "carol", "carol-password-1")
    token = await login(client, "carol", "carol-password-1")
    resp = await client.post("/api/v1/users", json={"name": "eve"}, headers=bearer(token))
    assert resp.status == 403
    assert (await resp.json())["error"] == "forbidden"


async def test_duplicate_user_is_conflict(client: Any, admin_token: str) -> None:
    """A taken user name answers 409."""
    await make_user(client, admin_token, "dave")
    resp = await client.post(
        "/api/v1/users", json={"name": "dave", "password": "x" * 10}, headers=bearer(admin_token)
    )
    assert resp.status == 409


async def test_responses_match_openapi(client: Any, admin_token: str) -> None:
    """Real responses of the core endpoints match the served OpenAPI document."""
    from tests.openapi_check import checked

    await checked(await client.get("/health"))
    await checked(await client.get("/ready"))
    await checked(await client.get("/api/v1/info"))
    await checked(await client.get("/api/v1/current-user"))
    await checked(await client.get("/api/v1/current-user", headers=bearer(admin_token)))
    await checked(await client.post("/api/v1/login", data={"grant_type": "nope"}))
    await checked(await client.get("/api/v1/users", headers=bearer(admin_token)))
    await checked(
        await client.post(
            "/api/v1/users",
            json={"name": "olga", "password": "x" * 12},
            headers=bearer(admin_token),
        )
    )
    await checked(await client.get("/api/v1/users/nobody", headers=bearer(admin_token)))
    served = await (await client.get("/api/v1/openapi.json")).json()
    assert served["openapi"] == "3.1.0" and "/api/v1/login" in served["paths"]
