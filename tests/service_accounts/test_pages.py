"""The /service-accounts admin page through the real app (forms, CSRF, key shown once)."""

from __future__ import annotations

import html
import re
from typing import Any

from tests.builders import ADMIN_PASSWORD, bearer, make_user
from tests.service_accounts.builders import (
    make_account,
    make_account_with_key,
    make_key,
    whoami,
)
from zenml_server.domain.clock import isoformat
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


async def test_list_shows_name_state_keys_and_last_used(client: Any, admin_token: str) -> None:
    """The list has one row per account with its state, number of keys and last use, and
    links to the account's own page, which lists its keys."""
    account, _ = await make_account_with_key(client, admin_token, "ci")
    await make_account(client, admin_token, "idle", description="nothing yet")
    await web_login(client)
    resp = await client.get(PAGE)
    assert resp.status == 200
    assert resp.headers["Cache-Control"] == "no-store"
    page = await resp.text()
    assert 'data-account="ci"' in page and 'data-account="idle"' in page
    assert "nothing yet" in page and "Last used" in page
    assert f'href="{PAGE}/{account["id"]}"' in page
    assert secret_in(page) is None
    detail = await (await client.get(f"{PAGE}/{account['id']}")).text()
    assert 'data-key="default"' in detail and "Last rotated" in detail and "never" in detail
    assert (await client.get(f"{PAGE}/no-such-account")).status == 404


async def test_create_redirects_and_shows_the_key_once(client: Any, admin_token: str) -> None:
    """Creating an account answers with a redirect to its page, which shows the new key once
    with the connect command carrying it; reloading shows it no more and creates nothing."""
    await web_login(client)
    csrf = await csrf_of(client)
    data = {"csrf_token": csrf, "name": "web", "description": "d", "key_name": "first"}
    resp = await client.post(PAGE, data=data, allow_redirects=False)
    assert resp.status == 303
    location = resp.headers["Location"]
    assert location.startswith(f"{PAGE}/")
    landed = await client.get(location)
    assert landed.headers["Cache-Control"] == "no-store"
    page = await landed.text()
    secret = secret_in(page)
    assert secret is not None and looks_like_api_key(secret)
    assert f"--api-key {secret}" in html.unescape(page)
    assert await whoami(client, secret) == 200
    again = await (await client.get(location)).text()
    assert secret not in again and 'data-key="first"' in again


async def test_create_account_without_key(client: Any, admin_token: str) -> None:
    """An empty key name creates the account alone."""
    await web_login(client)
    csrf = await csrf_of(client)
    resp = await client.post(PAGE, data={"csrf_token": csrf, "name": "bare", "key_name": ""})
    page = await resp.text()
    assert resp.status == 200 and secret_in(page) is None and "No API keys." in page


async def test_create_account_errors_are_shown(client: Any, admin_token: str) -> None:
    """A taken or invalid name redirects back to the list with the reason, no account made."""
    await make_account(client, admin_token, "taken")
    await web_login(client)
    csrf = await csrf_of(client)
    resp = await client.post(PAGE, data={"csrf_token": csrf, "name": "taken"})
    assert "already exists" in await resp.text()
    resp = await client.post(PAGE, data={"csrf_token": csrf, "name": ""}, allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == PAGE
    resp = await client.post(PAGE, data={"csrf_token": csrf, "name": "ok2", "key_name": "a\x01"})
    assert 'class="error"' in await resp.text()
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
    """A key created on an account's page is shown once after the redirect; a taken name
    redirects back with the reason; an unknown account is 404."""
    account = await make_account(client, admin_token, "ci")
    await web_login(client)
    csrf = await csrf_of(client)
    path = f"{PAGE}/{account['id']}/api-keys"
    resp = await client.post(path, data={"csrf_token": csrf, "name": "k1"})
    secret = secret_in(await resp.text())
    assert resp.status == 200 and secret is not None
    assert await whoami(client, secret) == 200
    resp = await client.post(path, data={"csrf_token": csrf, "name": "k1"})
    assert "already has an API key named" in await resp.text()
    assert secret_in(await resp.text()) is None
    resp = await client.post(f"{PAGE}/nobody/api-keys", data={"csrf_token": csrf, "name": "k"})
    assert resp.status == 404


async def test_rotate_with_retain_needs_no_confirmation(
    client: Any, admin_token: str, clock: Any
) -> None:
    """Rotating with a retain period redirects and shows the new key once; the old one keeps
    working that long; a bad period changes nothing."""
    account = await make_account(client, admin_token, "ci")
    key = await make_key(client, admin_token, "ci", "k")
    await web_login(client)
    csrf = await csrf_of(client)
    path = f"{PAGE}/{account['id']}/api-keys/{key['id']}/rotate"
    data = {"csrf_token": csrf, "retain_period_minutes": "5"}
    resp = await client.post(path, data=data, allow_redirects=False)
    assert resp.status == 303
    page = await (await client.get(resp.headers["Location"])).text()
    new = secret_in(page)
    assert new is not None and new != key["key"]
    assert "keeps working for 5 minutes" in page
    assert await whoami(client, new) == 200 and await whoami(client, key["key"]) == 200
    clock.advance(5 * 60)
    assert await whoami(client, key["key"]) == 401
    for bad in ("-1", "x", "99999999", "1.5"):
        data = {"csrf_token": csrf, "retain_period_minutes": bad}
        resp = await client.post(path, data=data)
        assert "whole number" in await resp.text() or "retain" in await resp.text(), bad
        assert await whoami(client, new) == 200


async def test_rotate_without_retain_asks_first(client: Any, admin_token: str) -> None:
    """Rotate with 0 minutes first shows a confirmation page and changes nothing; confirming
    rotates, and reloading the page it lands on does not rotate again."""
    account = await make_account(client, admin_token, "ci")
    key = await make_key(client, admin_token, "ci", "k")
    await web_login(client)
    csrf = await csrf_of(client)
    path = f"{PAGE}/{account['id']}/api-keys/{key['id']}/rotate"
    asked = await client.post(path, data={"csrf_token": csrf})
    page = await asked.text()
    assert asked.status == 200 and 'name="confirmed" value="yes"' in page
    assert "stop working at once" in page
    assert await whoami(client, key["key"]) == 200
    data = {"csrf_token": csrf, "confirmed": "yes", "retain_period_minutes": "0"}
    done = await client.post(path, data=data, allow_redirects=False)
    assert done.status == 303
    landed = await client.get(done.headers["Location"])
    new = secret_in(await landed.text())
    assert new is not None and await whoami(client, key["key"]) == 401
    await client.get(done.headers["Location"])  # a reload
    assert await whoami(client, new) == 200


async def test_deactivate_key_and_account_ask_first(client: Any, admin_token: str) -> None:
    """Deactivating a key or an account shows a confirmation first (nothing changes), then
    refuses the key at once; activating needs no confirmation."""
    account = await make_account(client, admin_token, "ci")
    key = await make_key(client, admin_token, "ci", "k")
    await web_login(client)
    csrf = await csrf_of(client)
    key_path = f"{PAGE}/{account['id']}/api-keys/{key['id']}/active"
    asked = await client.post(key_path, data={"csrf_token": csrf, "active": "false"})
    assert 'name="confirmed" value="yes"' in await asked.text()
    assert await whoami(client, key["key"]) == 200
    data = {"csrf_token": csrf, "active": "false", "confirmed": "yes"}
    resp = await client.post(key_path, data=data, allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == f"{PAGE}/{account['id']}"
    assert await whoami(client, key["key"]) == 401
    resp = await client.post(key_path, data={"csrf_token": csrf, "active": "true"})
    assert "works again" in await resp.text()
    assert await whoami(client, key["key"]) == 200
    account_path = f"{PAGE}/{account['id']}/active"
    asked = await client.post(account_path, data={"csrf_token": csrf, "active": "false"})
    assert 'name="confirmed" value="yes"' in await asked.text()
    assert await whoami(client, key["key"]) == 200
    resp = await client.post(account_path, data={**data})
    assert "Activate account" in await resp.text()
    assert await whoami(client, key["key"]) == 401
    resp = await client.post(account_path, data={"csrf_token": csrf, "active": "maybe"})
    assert "active must be true or false" in await resp.text()


async def test_delete_key_and_account_from_the_page(client: Any, admin_token: str) -> None:
    """Delete (key, then account) asks first, then removes it and refuses its keys."""
    account = await make_account(client, admin_token, "ci")
    key = await make_key(client, admin_token, "ci", "k")
    other = await make_key(client, admin_token, "ci", "k2")
    await web_login(client)
    csrf = await csrf_of(client)
    key_path = f"{PAGE}/{account['id']}/api-keys/{key['id']}/delete"
    asked = await client.post(key_path, data={"csrf_token": csrf})
    assert "Delete API key" in await asked.text()
    assert await whoami(client, key["key"]) == 200
    resp = await client.post(key_path, data={"csrf_token": csrf, "confirmed": "yes"})
    assert "Deleted API key" in await resp.text()
    assert await whoami(client, key["key"]) == 401
    account_path = f"{PAGE}/{account['id']}/delete"
    assert (
        'value="yes"' in await (await client.post(account_path, data={"csrf_token": csrf})).text()
    )
    assert await whoami(client, other["key"]) == 200
    done = await client.post(
        account_path, data={"csrf_token": csrf, "confirmed": "yes"}, allow_redirects=False
    )
    assert done.status == 303 and done.headers["Location"] == PAGE
    assert await whoami(client, other["key"]) == 401
    page = await (await client.get(PAGE)).text()
    assert "Deleted service account" in page and 'data-account="ci"' not in page


async def test_search_filter_and_pages(client: Any, admin_token: str) -> None:
    """The list filters by a search on name or description and by state, and pages by 50."""
    for i in range(52):
        await make_account(client, admin_token, f"bot-{i:02d}", description=f"team {i % 2}")
    await make_account(client, admin_token, "lonely_one%", description="special")
    await web_login(client)
    first = await (await client.get(PAGE)).text()
    assert first.count("data-account=") == 50
    assert 'rel="next"' in first and "1\u201350 of 53" in first
    second = await (await client.get(f"{PAGE}?page=2")).text()
    assert second.count("data-account=") == 3 and 'rel="prev"' in second
    found = await (await client.get(f"{PAGE}?q=SPECIAL")).text()
    assert found.count("data-account=") == 1 and "lonely_one%" in found
    literal = await (await client.get(f"{PAGE}?q=%25")).text()
    assert literal.count("data-account=") == 1
    assert (await (await client.get(f"{PAGE}?q=bot-0")).text()).count("data-account=") == 10
    inactive = await (await client.get(f"{PAGE}?state=inactive")).text()
    assert "No service account matches" in inactive
    for junk in ("?page=-3", "?page=abc", "?state=weird", "?q=" + "x" * 500):
        assert (await client.get(PAGE + junk)).status == 200


async def test_create_key_with_an_expiry_on_page(
    make_client: Any, admin_token: str, clock: Any
) -> None:
    """A key made on the page with "expires in" days gets that expiry, shown in its row; a
    malformed number is refused; with a maximum lifetime set, the page says so and refuses
    a key without an expiry."""
    client = await make_client(api_key_max_lifetime_days=90)
    account = await make_account(client, admin_token, "ci")
    await web_login(client)
    csrf = await csrf_of(client)
    path = f"{PAGE}/{account['id']}/api-keys"
    resp = await client.post(path, data={"csrf_token": csrf, "name": "k0"})
    assert "must expire within 90 days" in await resp.text()
    resp = await client.post(path, data={"csrf_token": csrf, "name": "kx", "expires_in_days": "x"})
    assert "whole number of days" in await resp.text()
    resp = await client.post(path, data={"csrf_token": csrf, "name": "k1", "expires_in_days": "30"})
    assert secret_in(await resp.text()) is not None
    keys = await client.get("/api/v1/service_accounts/ci/api_keys/k1", headers=bearer(admin_token))
    assert (await keys.json())["expires_at"] == isoformat(clock.now() + 30 * 86400)
    page = await (await client.get(f"{PAGE}/{account['id']}")).text()
    assert "at most 90" in page and "Expires (UTC)" in page


async def test_create_account_with_a_key_over_the_maximum_creates_neither(
    make_client: Any, admin_token: str
) -> None:
    """With a maximum key lifetime, creating an account whose first key has no expiry makes
    neither the account nor the key; with an expiry in range it makes both."""
    client = await make_client(api_key_max_lifetime_days=90)
    await web_login(client)
    csrf = await csrf_of(client)
    resp = await client.post(PAGE, data={"csrf_token": csrf, "name": "ci", "key_name": "k"})
    assert "must expire within 90 days" in await resp.text()
    listed = await client.get("/api/v1/service_accounts", headers=bearer(admin_token))
    assert (await listed.json())["total"] == 0
    data = {"csrf_token": csrf, "name": "ci", "key_name": "k", "expires_in_days": "90"}
    resp = await client.post(PAGE, data=data)
    assert secret_in(await resp.text()) is not None


async def test_rotate_on_page_takes_ascii_digits_only(client: Any, admin_token: str) -> None:
    """A retain period in digits that are not ASCII (² or ٣) is refused and rotates nothing."""
    account = await make_account(client, admin_token, "ci")
    key = await make_key(client, admin_token, "ci", "k")
    await web_login(client)
    csrf = await csrf_of(client)
    path = f"{PAGE}/{account['id']}/api-keys/{key['id']}/rotate"
    for bad in ("²", "٣", "\uff11"):  # superscript two, Arabic-Indic three, fullwidth one
        resp = await client.post(path, data={"csrf_token": csrf, "retain_period_minutes": bad})
        assert resp.status < 500, bad
        assert "whole number" in await resp.text(), bad
        assert secret_in(await resp.text()) is None
    assert await whoami(client, key["key"]) == 200


async def test_expiry_days_on_page_take_ascii_digits_only(client: Any, admin_token: str) -> None:
    """An expiry in days written with digits that are not ASCII is refused, never a 500."""
    account = await make_account(client, admin_token, "ci")
    await web_login(client)
    csrf = await csrf_of(client)
    for bad in ("²", "٣"):
        data = {"csrf_token": csrf, "name": "k", "expires_in_days": bad}
        resp = await client.post(f"{PAGE}/{account['id']}/api-keys", data=data)
        assert resp.status < 500, bad
        assert "whole number of days" in await resp.text(), bad
