"""Small page behaviours through the real app: static files, GET /logout, the flash cookie
that carries a one-time message across a redirect, and paging of the devices page."""

from __future__ import annotations

import uuid
from typing import Any

from tests.builders import ADMIN_PASSWORD, login
from tests.device_flow.builders import device_token, page_login
from zenml_server.http.pages.flash import COOKIE


async def test_static_files_and_misses(client: Any) -> None:
    """The stylesheet is served as CSS; a missing file, /static/ and a path that tries to
    climb out are the HTML 404 page."""
    resp = await client.get("/static/style.css")
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/css")
    for path in (
        "/static/nope.css",
        "/static/",
        "/static",
        "/static/../app.py",
        "/static/%2e%2e/x",
    ):
        resp = await client.get(path)
        assert resp.status == 404, path
        assert resp.headers["Content-Type"].startswith("text/html"), path
        assert "Not found" in await resp.text()
        assert resp.headers["X-Frame-Options"] == "DENY"


async def test_get_logout_is_a_page_with_a_post_button(client: Any) -> None:
    """GET /logout shows a form that POSTs; without a session it goes to the login page."""
    resp = await client.get("/logout", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/login"
    await page_login(client)
    resp = await client.get("/logout")
    html = await resp.text()
    assert resp.status == 200
    assert 'method="post" action="/logout"' in html and 'name="csrf_token"' in html


async def test_a_forged_flash_cookie_is_ignored(client: Any) -> None:
    """A flash cookie that is not the server's own (garbled or forged) shows nothing."""
    await page_login(client)
    for value in ("garbage", "A" * 200, "x" * 5000):
        client.session.cookie_jar.update_cookies({COOKIE: value})
        resp = await client.get("/service-accounts")
        assert resp.status == 200
        assert 'data-testid="new-api-key"' not in await resp.text()


async def test_devices_page_pages_past_fifty(make_client: Any) -> None:
    """With 53 devices the page shows 50 and a link to the next page, which shows 3."""
    client = await make_client(rate_limit_scale=100)
    admin_token = await login(client, "admin", ADMIN_PASSWORD)
    for _ in range(53):
        await device_token(client, admin_token, client_id=_new_client())
    await page_login(client)
    first = await (await client.get("/devices")).text()
    assert first.count('id="device-') == 50 and 'rel="next"' in first
    second = await (await client.get("/devices?view=permitted&page=2")).text()
    assert second.count('id="device-') == 3 and 'rel="prev"' in second
    refused = await (await client.get("/devices?view=refused")).text()
    assert refused.count('id="device-') == 0


def _new_client() -> str:
    return str(uuid.uuid4())
