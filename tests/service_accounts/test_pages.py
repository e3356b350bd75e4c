"""The /service-accounts admin page through the real app (forms, CSRF, key shown once)."""

from __future__ import annotations

import html
import re
from typing import Any

from tests.builders import ADMIN_PASSWORD, make_user
from tests.service_accounts.builders import (
    make_account,
    make_account_with_key,
    make_key,
    whoami,
)
from zenml_server.domain.secrets import looks_like_api_key

PAGE = "/service-accounts"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_SECRET = re.compile(r'data-testid="new-api-key">([^<]+)<')


async def web_login(client: Any, name: str = "admin", password: str = ADMIN_PASSWORD) -> None:
    """Log the test client's browser in through the login form."""
    page = await (await client.get("/login")).text()
    csrf = _CSRF.search(page)
    assert csrf is not None
    resp = await client.post(
        "/login",
        data={"csrf_token": csrf[1], "username": name, "password": password, "next": PAGE},
        allow_redirects=False,
    )
    assert resp.status == 303, await resp.text()


async def csrf_of(client: Any) -> str:
    page = await (await client.get(PAGE)).text()
    match = _CSRF.search(page)
    assert match is not None
    return html.unescape(match[1])


def secret_in(page: str) -> str | None:
    match = _SECRET.search(page)
    return None if match is None else html.unescape(match[1])


async def test_page_needs_login(client: Any) -> None:
    """Without a session the page redirects to the login form."""
    resp = await client.get(PAGE, allow_redirects=False)
    assert resp.status == 303
    assert resp.headers["Location"].startswith("/login?next=")


async def test_page_needs_admin(client: Any, admin_token: str) -> None:
    """A logged-in non-admin gets 403 on the page and on its forms."""
    await make_user(client, admin_token, "pat", "pat-password-1")
    await web_login(client, "pat", "pat-password-1")
    resp = await client.get(PAGE)
    assert resp.status == 403
    resp = await client.post(PAGE, data={"name": "x", "csrf_token": "x"})
    assert resp.status == 403


async def test_page_lists_accounts_and_keys(client: Any, admin_token: str) -> None:
    """Accounts and their keys are listed with state, last used and last rotated."""
    await make_account_with_key(client, admin_token, "ci")
    await make_account(client, admin_token, "idle", description="nothing yet")
    await web_login(client)
    resp = await client.get(PAGE)
    assert resp.status == 200
    assert resp.headers["Cache-Control"] == "no-store"
    page = await resp.text()
    assert 'data-account="ci"' in page and 'data-key="default"' in page
    assert "nothing yet" in page and "Last rotated" in page and "never" in page
    assert secret_in(page) is None


async def test_create_account_and_key_shows_key_once(client: Any, admin_token: str) -> None:
    """Creating an account makes its first key, shown in that answer only, and it works."""
    await web_login(client)
    csrf = await csrf_of(client)
    resp = await client.post(
        PAGE, data={"csrf_token": csrf, "name": "web", "description": "d", "key_name": "first"}
    )
    assert resp.status == 200
    assert resp.headers["Cache-Control"] == "no-store"
    secret = secret_in(await resp.text())
    assert secret is not None and looks_like_api_key(secret)
    assert await whoami(client, secret) == 200
    again = await (await client.get(PAGE)).text()
    assert secret not in again and 'data-key="first"' in again


async def test_create_account_without_key(client: Any, admin_token: str) -> None:
    """An empty key name creates the account alone."""
    await web_login(client)
    csrf = await csrf_of(client)
    resp = await client.post(PAGE, data={"csrf_token": csrf, "name": "bare", "key_name": ""})
    page = await resp.text()
    assert resp.status == 200 and secret_in(page) is None and "No API keys." in page


async def test_create_account_errors_are_shown(client: Any, admin_token: str) -> None:
    """A taken or invalid name re-renders the page with the reason (409/422), no account made."""
    await make_account(client, admin_token, "taken")
    await web_login(client)
    csrf = await csrf_of(client)
    resp = await client.post(PAGE, data={"csrf_token": csrf, "name": "taken"})
    assert resp.status == 409
    assert "already exists" in await resp.text()
    resp = await client.post(PAGE, data={"csrf_token": csrf, "name": ""})
    assert resp.status == 422
    resp = await client.post(PAGE, data={"csrf_token": csrf, "name": "ok", "key_name": " "})
    assert resp.status == 200
    resp = await client.post(PAGE, data={"csrf_token": csrf, "name": "ok2", "key_name": "a\x01"})
    assert resp.status == 422
    assert 'data-account="ok2"' not in await (await client.get(PAGE)).text()


async def test_forms_need_csrf(client: Any, admin_token: str) -> None:
    """Every form post without the matching CSRF token is refused (403) and changes nothing."""
    account = await make_account(client, admin_token, "ci")
    key = await make_key(client, admin_token, "ci", "k")
    await web_login(client)
    base = f"{PAGE}/{account['id']}"
    posts = [
        (PAGE, {"name": "new"}),
        (f"{base}/active", {"active": "false"}),
        (f"{base}/api-keys", {"name": "k2"}),
        (f"{base}/api-keys/{key['id']}/rotate", {"retain_period_minutes": "0"}),
        (f"{base}/api-keys/{key['id']}/active", {"active": "false"}),
    ]
    for path, fields in posts:
        for token in (None, "forged"):
            data = fields if token is None else {**fields, "csrf_token": token}
            resp = await client.post(path, data=data)
            assert resp.status == 403, path
    assert await whoami(client, key["key"]) == 200


async def test_create_key_on_page(client: Any, admin_token: str) -> None:
    """A key created for an existing account is shown once; a taken name is 409."""
    account = await make_account(client, admin_token, "ci")
    await web_login(client)
    csrf = await csrf_of(client)
    path = f"{PAGE}/{account['id']}/api-keys"
    resp = await client.post(path, data={"csrf_token": csrf, "name": "k1"})
    secret = secret_in(await resp.text())
    assert resp.status == 200 and secret is not None
    assert await whoami(client, secret) == 200
    resp = await client.post(path, data={"csrf_token": csrf, "name": "k1"})
    assert resp.status == 409
    resp = await client.post(f"{PAGE}/nobody/api-keys", data={"csrf_token": csrf, "name": "k"})
    assert resp.status == 404


async def test_rotate_on_page(client: Any, admin_token: str, clock: Any) -> None:
    """Rotating shows the new key once; the old one keeps working the retain period."""
    account = await make_account(client, admin_token, "ci")
    key = await make_key(client, admin_token, "ci", "k")
    await web_login(client)
    csrf = await csrf_of(client)
    path = f"{PAGE}/{account['id']}/api-keys/{key['id']}/rotate"
    resp = await client.post(path, data={"csrf_token": csrf, "retain_period_minutes": "5"})
    page = await resp.text()
    new = secret_in(page)
    assert resp.status == 200 and new is not None and new != key["key"]
    assert "keeps working for 5 minutes" in page
    assert await whoami(client, new) == 200 and await whoami(client, key["key"]) == 200
    clock.advance(5 * 60)
    assert await whoami(client, key["key"]) == 401
    for bad in ("-1", "x", "99999999", "1.5"):
        resp = await client.post(path, data={"csrf_token": csrf, "retain_period_minutes": bad})
        assert resp.status == 422, bad


async def test_deactivate_key_and_account_on_page(client: Any, admin_token: str) -> None:
    """The deactivate buttons refuse the key (or the account's keys) at once."""
    account = await make_account(client, admin_token, "ci")
    key = await make_key(client, admin_token, "ci", "k")
    await web_login(client)
    csrf = await csrf_of(client)
    key_path = f"{PAGE}/{account['id']}/api-keys/{key['id']}/active"
    resp = await client.post(
        key_path, data={"csrf_token": csrf, "active": "false"}, allow_redirects=False
    )
    assert resp.status == 303 and resp.headers["Location"] == PAGE
    assert await whoami(client, key["key"]) == 401
    await client.post(key_path, data={"csrf_token": csrf, "active": "true"})
    assert await whoami(client, key["key"]) == 200
    account_path = f"{PAGE}/{account['id']}/active"
    resp = await client.post(account_path, data={"csrf_token": csrf, "active": "false"})
    assert resp.status == 200  # followed the redirect back to the page
    assert "Activate account" in await resp.text()
    assert await whoami(client, key["key"]) == 401
    resp = await client.post(account_path, data={"csrf_token": csrf, "active": "maybe"})
    assert resp.status == 422


async def test_rotate_on_page_takes_ascii_digits_only(client: Any, admin_token: str) -> None:
    """A retain period in digits that are not ASCII (² or ٣) answers 422 and rotates nothing."""
    account = await make_account(client, admin_token, "ci")
    key = await make_key(client, admin_token, "ci", "k")
    await web_login(client)
    csrf = await csrf_of(client)
    path = f"{PAGE}/{account['id']}/api-keys/{key['id']}/rotate"
    for bad in ("²", "٣", "\uff11"):  # superscript two, Arabic-Indic three, fullwidth one
        resp = await client.post(path, data={"csrf_token": csrf, "retain_period_minutes": bad})
        assert resp.status == 422, bad
        assert secret_in(await resp.text()) is None
    assert await whoami(client, key["key"]) == 200
