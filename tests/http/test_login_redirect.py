"""After login the browser goes only to a local path, whatever ``next`` holds (issue 9.1)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import pytest

from tests.builders import ADMIN_PASSWORD
from zenml_server.http.pages.session import safe_next

HOSTILE = [
    "/\t/evil.example",
    "/%09/evil.example",
    "/\r/evil.example",
    "/\n/evil.example",
    "/\x00/evil.example",
    "/ /evil.example",
    "\\evil.example",
    "/\\evil.example",
    "/\\/evil.example",
    "//evil.example",
    "///evil.example",
    "////evil.example/",
    "%2f%2fevil.example",
    "/%2f%2fevil.example",
    "/%5c%5cevil.example",
    "/%2F/evil.example",
    "http:evil.example",
    "http://evil.example/",
    "https:/evil.example",
    "javascript:alert(1)",
    "/\u2215\u2215evil.example",
    "/\uff0f\uff0fevil.example",
    "\uff0f\uff0fevil.example",
    "/\u3002evil.example",
    "/\u200b/evil.example",
    "",
]


async def _form_csrf(client: Any) -> str:
    page = await (await client.get("/login")).text()
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match is not None
    return match.group(1)


async def _post_login(client: Any, target: str) -> Any:
    return await client.post(
        "/login",
        data={
            "csrf_token": await _form_csrf(client),
            "username": "admin",
            "password": ADMIN_PASSWORD,
            "next": target,
        },
        allow_redirects=False,
    )


@pytest.mark.parametrize("target", HOSTILE)
async def test_post_login_never_redirects_off_site(client: Any, target: str) -> None:
    """POST /login with a hostile ``next`` redirects to the start page (or is refused)."""
    resp = await _post_login(client, target)
    if resp.status == 303:
        assert resp.headers["Location"] == "/"
    else:  # a form field holding NUL is refused as a whole
        assert resp.status == 422 and "Location" not in resp.headers


@pytest.mark.parametrize("target", HOSTILE)
async def test_get_login_with_session_never_redirects_off_site(client: Any, target: str) -> None:
    """GET /login?next=<hostile> with a session redirects to the start page."""
    assert (await _post_login(client, "/")).status == 303
    resp = await client.get(f"/login?next={quote(target, safe='')}", allow_redirects=False)
    if resp.status == 303:
        assert resp.headers["Location"] == "/"
    else:  # a URL holding NUL is refused as a whole
        assert resp.status == 422 and "Location" not in resp.headers


@pytest.mark.parametrize("target", HOSTILE)
def test_safe_next_refuses_hostile_values(target: str) -> None:
    """safe_next turns every hostile value into the default."""
    assert safe_next(target) == "/"


@pytest.mark.parametrize(
    "target",
    ["/", "/devices", "/devices/verify?device_id=abc&user_code=WDJB-MJHT", "/a%20b?x=1#frag"],
)
async def test_local_paths_are_kept(client: Any, target: str) -> None:
    """A local path (with query) is where the login sends the browser."""
    resp = await _post_login(client, target)
    assert resp.status == 303
    assert resp.headers["Location"] == target
