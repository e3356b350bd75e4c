"""The approval page /devices/verify, driven as a browser without JavaScript would."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.builders import bearer
from tests.device_flow.builders import csrf_from, device_id_of, page_login, poll, start
from zenml_server.domain.clock import ManualClock
from zenml_server.http.keys import STORE


def _path(authorization: dict[str, Any]) -> str:
    uri: str = authorization["verification_uri_complete"]
    return uri[uri.index("/devices/verify") :]


async def _confirm(client: Any, authorization: dict[str, Any]) -> str:
    resp = await client.get(_path(authorization))
    assert resp.status == 200, await resp.text()
    return str(await resp.text())


async def _decide(client: Any, page: str, decision: str, **extra: str) -> Any:
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    fields.update(decision=decision, **extra)
    return await client.post("/devices/verify", data=fields)


async def test_not_logged_in_goes_to_login_and_back(client: Any) -> None:
    """Without a session the page redirects to /login?next=<the page>, which leads back."""
    authorization = await start(client)
    path = _path(authorization)
    resp = await client.get(path, allow_redirects=False)
    assert resp.status == 303
    location = urlsplit(resp.headers["Location"])
    assert location.path == "/login" and parse_qs(location.query)["next"] == [path]
    page = await client.get(resp.headers["Location"])
    resp = await client.post(
        "/login",
        data={
            "username": "admin",
            "password": "admin-password-1",
            "csrf_token": csrf_from(await page.text()),
            "next": path,
        },
        allow_redirects=False,
    )
    assert resp.status == 303 and resp.headers["Location"] == path


async def test_without_code_shows_entry_form(client: Any) -> None:
    """/devices/verify alone shows a form to type the code, with a CSRF token."""
    await page_login(client)
    resp = await client.get("/devices/verify")
    assert resp.status == 200
    html = await resp.text()
    assert 'name="user_code"' in html and 'name="csrf_token"' in html
    assert resp.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]


async def test_confirmation_shows_code_and_device(client: Any) -> None:
    """With a code: the code, hostname, OS, client version, IP, when, and an unticked trust box."""
    authorization = await start(client)
    await page_login(client)
    html = await _confirm(client, authorization)
    assert authorization["user_code"] in html
    for fact in ("laptop-7", "Linux", "ZenML 0.98.0", "Python 3.11.7", "127.0.0.1", "just now"):
        assert fact in html, fact
    box = re.search(r'<input type="checkbox"[^>]*>', html)
    assert box is not None and "checked" not in box.group(0)
    assert "30 days instead of 24 hours" in html
    assert 'value="authorize"' in html and 'value="deny"' in html


async def test_typed_code_leads_to_confirmation(client: Any) -> None:
    """The entry form posts the typed code (any case, spaces) and gets the confirmation."""
    authorization = await start(client)
    await page_login(client)
    form = await (await client.get("/devices/verify")).text()
    typed = authorization["user_code"].lower().replace("-", " ")
    resp = await client.post(
        "/devices/verify",
        data={"csrf_token": csrf_from(form), "decision": "lookup", "user_code": typed},
    )
    assert resp.status == 200
    html = await resp.text()
    assert authorization["user_code"] in html and "laptop-7" in html


async def test_authorize_trusted_gives_thirty_day_token(client: Any) -> None:
    """Ticking trust and authorizing: a result page, and the CLI gets 2592000 s."""
    authorization = await start(client)
    await page_login(client)
    resp = await _decide(
        client, await _confirm(client, authorization), "authorize", trusted_device="true"
    )
    assert resp.status == 200
    html = await resp.text()
    assert "Device authorized" in html and "terminal" in html and "30 days" in html
    body = await (await poll(client, authorization)).json()
    assert body["expires_in"] == 2592000


async def test_authorize_untrusted_gives_one_day_token(client: Any) -> None:
    """Authorizing without trust: the CLI gets 86400 s."""
    authorization = await start(client)
    await page_login(client)
    resp = await _decide(client, await _confirm(client, authorization), "authorize")
    assert resp.status == 200 and "24 hours" in await resp.text()
    body = await (await poll(client, authorization)).json()
    assert body["expires_in"] == 86400


async def test_deny_gives_access_denied(client: Any) -> None:
    """Deny: a result page, and the CLI's poll answers access_denied."""
    authorization = await start(client)
    await page_login(client)
    resp = await _decide(client, await _confirm(client, authorization), "deny")
    assert resp.status == 200 and "Login denied" in await resp.text()
    assert (await (await poll(client, authorization)).json())["error"] == "access_denied"


async def test_post_without_csrf_is_refused(client: Any) -> None:
    """A form post without (or with a wrong) CSRF token is refused and changes nothing."""
    authorization = await start(client)
    await page_login(client)
    page = await _confirm(client, authorization)
    resp = await _decide(client, page, "authorize", csrf_token="")
    assert resp.status == 403
    resp = await _decide(client, page, "authorize", csrf_token="forged")
    assert resp.status == 403
    device = await client.app[STORE].devices.get(device_id_of(authorization))
    assert device.status == "pending"


async def test_wrong_code_message_and_lock(client: Any) -> None:
    """A wrong code shows a message, never a trace; three for one device lock it."""
    authorization = await start(client)
    await page_login(client)
    device_id = device_id_of(authorization)
    for _ in range(2):
        resp = await client.get(f"/devices/verify?device_id={device_id}&user_code=BCDF-GHJK")
        assert resp.status == 400
        assert "That code is not right" in await resp.text()
    resp = await client.get(f"/devices/verify?device_id={device_id}&user_code=bcdfghjk")
    assert resp.status == 403
    assert "locked" in await resp.text()
    resp = await client.get(_path(authorization))
    assert resp.status == 403


async def test_garbage_code_is_a_message(client: Any) -> None:
    """A code that cannot be a code is the same clear message."""
    await page_login(client)
    resp = await client.get("/devices/verify?user_code=%F0%9F%92%A9" + "x" * 500)
    assert resp.status == 400
    assert "That code is not right" in await resp.text()


async def test_expired_code_message(client: Any, clock: ManualClock) -> None:
    """An expired code says so."""
    authorization = await start(client)
    await page_login(client)
    clock.advance(301)
    resp = await client.get(_path(authorization))
    assert resp.status == 400 and "expired" in await resp.text()


async def test_used_code_message(client: Any) -> None:
    """A code already approved says it was used; denying it afterwards is refused."""
    authorization = await start(client)
    await page_login(client)
    page = await _confirm(client, authorization)
    assert (await _decide(client, page, "authorize")).status == 200
    resp = await _decide(client, page, "deny")
    assert resp.status == 409 and "already used" in await resp.text()
    resp = await client.get(_path(authorization))
    assert resp.status == 409


async def test_unknown_decision_is_a_message(client: Any) -> None:
    """A decision other than authorize or deny is refused with a message."""
    authorization = await start(client)
    await page_login(client)
    resp = await _decide(client, await _confirm(client, authorization), "maybe")
    assert resp.status == 400 and "Authorize or Deny" in await resp.text()
    resp = await _decide(client, await _confirm(client, authorization), "authorize", user_code="")
    assert resp.status == 400


async def test_page_code_entry_is_rate_limited(client: Any) -> None:
    """Guessing codes on the page is limited: a clear 429 message."""
    await page_login(client)
    statuses = []
    for _ in range(12):
        resp = await client.get("/devices/verify?user_code=BCDF-GHJK")
        statuses.append(resp.status)
    assert statuses[-1] == 429
    assert "Too many attempts" in await resp.text()


async def test_page_and_api_share_the_owner(client: Any, admin_token: str) -> None:
    """The device approved on the page works as the logged-in user."""
    authorization = await start(client)
    await page_login(client)
    await _decide(client, await _confirm(client, authorization), "authorize")
    body = await (await poll(client, authorization)).json()
    me = await client.get("/api/v1/current-user", headers=bearer(body["access_token"]))
    assert (await me.json())["name"] == "admin"


def test_lifetimes_read_as_people_say_them() -> None:
    """Lifetimes on the page: minutes, hours, or days."""
    from zenml_server.http.pages.device_verify import duration

    assert [duration(m) for m in (1, 90, 60, 1440, 2880, 43200)] == [
        "1 minute",
        "90 minutes",
        "1 hour",
        "24 hours",
        "2 days",
        "30 days",
    ]
