"""CSRF tokens are bound to the session (or the pre-session nonce), and cookies carry the
``__Host-`` prefix over https (issue 9.6)."""

from __future__ import annotations

import re
from http.cookies import SimpleCookie
from typing import Any

from tests.builders import ADMIN_PASSWORD, make_user
from zenml_server.storage.store import Store


def _token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match is not None, html
    return match.group(1)


async def _page_login(client: Any, name: str, password: str) -> None:
    token = _token(await (await client.get("/login")).text())
    resp = await client.post(
        "/login",
        data={"csrf_token": token, "username": name, "password": password},
        allow_redirects=False,
    )
    assert resp.status == 303


def _plant(client: Any, cookies: dict[str, str]) -> None:
    """Set cookies in the browser as another site under the same host could."""
    client.session.cookie_jar.update_cookies(cookies, response_url=client.make_url("/"))
    sent = client.session.cookie_jar.filter_cookies(client.make_url("/"))
    assert all(sent[name].value == value for name, value in cookies.items())


async def _sessions(store: Store) -> int:
    count: int = await store.db.fetchval("SELECT count(*) FROM web_sessions")
    return count


async def test_planted_pre_session_pair_is_refused_with_a_session(
    client: Any, store: Store
) -> None:
    """A nonce cookie and its token taken from the attacker's browser, planted into a
    logged-in victim's browser, do not pass a form post."""
    attacker_token = _token(await (await client.get("/login")).text())
    attacker_nonce = client.session.cookie_jar.filter_cookies(client.make_url("/"))["zenml_csrf"]
    client.session.cookie_jar.clear()
    await _page_login(client, "admin", ADMIN_PASSWORD)
    _plant(client, {"zenml_csrf": attacker_nonce.value})
    resp = await client.post("/logout", data={"csrf_token": attacker_token}, allow_redirects=False)
    assert resp.status == 403
    assert await _sessions(store) == 1


async def test_token_of_another_session_is_refused(
    client: Any, store: Store, admin_token: str
) -> None:
    """A form token from the attacker's own session does not work with the victim's."""
    await make_user(client, admin_token, "mallory", "mallory-password-1")
    await _page_login(client, "mallory", "mallory-password-1")
    jar = client.session.cookie_jar.filter_cookies(client.make_url("/"))
    attacker_pair = {name: morsel.value for name, morsel in jar.items()}
    attacker_token = _token(await (await client.get("/")).text())
    client.session.cookie_jar.clear()
    await _page_login(client, "admin", ADMIN_PASSWORD)
    # Plant every cookie of the attacker's browser except the session.
    planted = {k: v for k, v in attacker_pair.items() if k != "zenml_session"}
    _plant(client, planted)
    resp = await client.post("/logout", data={"csrf_token": attacker_token}, allow_redirects=False)
    assert resp.status == 403
    assert await _sessions(store) == 2
    own = _token(await (await client.get("/")).text())
    assert own != attacker_token
    resp = await client.post("/logout", data={"csrf_token": own}, allow_redirects=False)
    assert resp.status == 303


def _set_cookies(resp: Any) -> SimpleCookie:
    jar: SimpleCookie = SimpleCookie()
    for header in resp.headers.getall("Set-Cookie", []):
        jar.load(header)
    return jar


async def test_https_uses_host_prefixed_cookies(make_client: Any, store: Store) -> None:
    """Served over https, the nonce and session cookies are ``__Host-`` cookies (Secure,
    Path=/, no Domain), and plain-named cookies planted beside them are ignored."""
    client = await make_client(url="https://auth.example.com")
    page = await client.get("/login")
    cookies = _set_cookies(page)
    nonce = cookies["__Host-zenml_csrf"]
    assert nonce["secure"] and nonce["path"] == "/" and not nonce["domain"]
    assert "zenml_csrf" not in cookies
    token = _token(await page.text())
    # The client's jar does not send Secure cookies over http: send them by hand.
    headers = {"Cookie": f"__Host-zenml_csrf={nonce.value}"}
    resp = await client.post(
        "/login",
        data={"csrf_token": token, "username": "admin", "password": ADMIN_PASSWORD},
        headers=headers,
        allow_redirects=False,
    )
    assert resp.status == 303
    session = _set_cookies(resp)["__Host-zenml_session"]
    assert session["secure"] and session["httponly"] and session["path"] == "/"
    assert not session["domain"]
    home = await client.get(
        "/", headers={"Cookie": f"__Host-zenml_session={session.value}"}, allow_redirects=False
    )
    assert home.status == 200
    # A plain-named session cookie (which a sibling subdomain could set) opens nothing.
    plain = await client.get(
        "/", headers={"Cookie": f"zenml_session={session.value}"}, allow_redirects=False
    )
    assert plain.status == 303
    # A plain-named nonce cookie does not make a planted token pass either.
    resp = await client.post(
        "/login",
        data={"csrf_token": token, "username": "admin", "password": ADMIN_PASSWORD},
        headers={"Cookie": f"zenml_csrf={nonce.value}"},
        allow_redirects=False,
    )
    assert resp.status == 403
