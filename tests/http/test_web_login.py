"""The login page: CSRF, session cookie, safe redirects, logout."""

from __future__ import annotations

import re
from typing import Any

import pytest
from yarl import URL

from tests.builders import ADMIN_PASSWORD
from zenml_server.domain.secrets import digest
from zenml_server.http.pages.session import safe_next
from zenml_server.storage.store import Store


async def _csrf(client: Any, path: str = "/login") -> str:
    page = await (await client.get(path)).text()
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page)
    assert match, "the form carries a CSRF token"
    return match.group(1)


async def _login(client: Any, next_path: str = "/") -> Any:
    token = await _csrf(client)
    return await client.post(
        "/login",
        data={
            "csrf_token": token,
            "username": "admin",
            "password": ADMIN_PASSWORD,
            "next": next_path,
        },
        allow_redirects=False,
    )


async def test_login_page_has_security_headers(client: Any) -> None:
    """The login page forbids framing and caching."""
    resp = await client.get("/login")
    assert resp.status == 200
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["X-Frame-Options"] == "DENY"


async def test_login_sets_hardened_session_cookie(client: Any, store: Store) -> None:
    """A good login redirects and sets an HttpOnly, SameSite=Lax cookie stored only as digest."""
    resp = await _login(client)
    assert resp.status == 303
    cookie = resp.cookies["zenml_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    value = cookie.value
    rows = await store.db.fetch("SELECT digest FROM web_sessions")
    assert [r["digest"] for r in rows] == [digest(value)]


async def test_post_without_csrf_token_is_refused(client: Any, store: Store) -> None:
    """A login form posted without its CSRF token is refused and opens no session."""
    await client.get("/login")
    resp = await client.post(
        "/login",
        data={"username": "admin", "password": ADMIN_PASSWORD},
        allow_redirects=False,
    )
    assert resp.status == 403
    assert await store.db.fetchval("SELECT count(*) FROM web_sessions") == 0


async def test_post_with_forged_csrf_token_is_refused(client: Any) -> None:
    """A CSRF token that does not match the browser's cookie is refused."""
    await client.get("/login")
    resp = await client.post(
        "/login",
        data={"csrf_token": "0" * 64, "username": "admin", "password": ADMIN_PASSWORD},
        allow_redirects=False,
    )
    assert resp.status == 403


async def test_wrong_password_shows_message(client: Any) -> None:
    """A wrong password re-renders the form with a message and no session."""
    token = await _csrf(client)
    resp = await client.post(
        "/login",
        data={"csrf_token": token, "username": "admin", "password": "wrong-password"},
        allow_redirects=False,
    )
    assert resp.status == 401
    assert "Wrong username or password." in await resp.text()
    assert "zenml_session" not in resp.cookies


async def test_protected_page_redirects_to_login_and_back(client: Any) -> None:
    """A protected page sends a stranger to /login?next=… and login returns there."""
    resp = await client.get("/", allow_redirects=False)
    location = URL(resp.headers["Location"])
    assert resp.status == 303 and location.path == "/login" and location.query["next"] == "/"
    login = await _login(client, next_path="/")
    assert login.headers["Location"] == "/"
    home = await client.get("/", allow_redirects=False)
    assert home.status == 200 and "Welcome, admin" in await home.text()


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)", ""],
)
async def test_next_never_leaves_the_site(client: Any, target: str) -> None:
    """An external ``next`` is replaced by the start page: no open redirect."""
    resp = await _login(client, next_path=target)
    assert resp.status == 303 and resp.headers["Location"] == "/"


def test_safe_next_keeps_local_paths() -> None:
    """Local paths with a query survive."""
    assert safe_next("/devices/verify?user_code=ABCD") == "/devices/verify?user_code=ABCD"


async def test_logout_ends_the_session(client: Any, store: Store) -> None:
    """Logout (with CSRF) deletes the session; the cookie no longer opens pages."""
    await _login(client)
    token = await _csrf(client, "/")
    resp = await client.post("/logout", data={"csrf_token": token}, allow_redirects=False)
    assert resp.status == 303
    assert await store.db.fetchval("SELECT count(*) FROM web_sessions") == 0
    again = await client.get("/", allow_redirects=False)
    assert again.status == 303


async def test_logout_without_csrf_is_refused(client: Any, store: Store) -> None:
    """Logout without the CSRF token is refused (no cross-site logout)."""
    await _login(client)
    resp = await client.post("/logout", data={}, allow_redirects=False)
    assert resp.status == 403
    assert await store.db.fetchval("SELECT count(*) FROM web_sessions") == 1
