"""The "approved in this browser" mark: approving on /devices/verify leaves a signed cookie
of device ids, and /devices marks the logged-in user's devices it lists."""

from __future__ import annotations

import re
import uuid
from http.cookies import SimpleCookie
from typing import Any

from tests.builders import ADMIN_PASSWORD, make_user
from tests.device_flow.builders import csrf_from, device_id_of, page_login, start
from tests.devices.builders import connect_device

COOKIE = "zenml_approved_here"
MARK = "approved in this browser"
FOUR_HUNDRED_DAYS = 400 * 24 * 3600


async def _decide_on_page(
    client: Any, decision: str = "authorize", headers: dict[str, str] | None = None
) -> tuple[str, Any]:
    """Start a login and authorize (or deny) it on the approval page: (device id, response)."""
    authorization = await start(client, client_id=str(uuid.uuid4()))
    form = await client.get("/devices/verify", headers=headers)
    assert form.status == 200, await form.text()
    device_id = device_id_of(authorization)
    resp = await client.post(
        "/devices/verify",
        data={
            "csrf_token": csrf_from(await form.text()),
            "user_code": authorization["user_code"],
            "device_id": device_id,
            "decision": decision,
        },
        headers=headers,
    )
    assert resp.status == 200, await resp.text()
    return device_id, resp


def _set_cookies(resp: Any) -> SimpleCookie:
    jar: SimpleCookie = SimpleCookie()
    for header in resp.headers.getall("Set-Cookie", []):
        jar.load(header)
    return jar


def _jar_value(client: Any) -> str | None:
    morsel = client.session.cookie_jar.filter_cookies(client.make_url("/")).get(COOKIE)
    return None if morsel is None else str(morsel.value)


def _plant(client: Any, value: str) -> None:
    client.session.cookie_jar.update_cookies({COOKIE: value}, response_url=client.make_url("/"))
    assert _jar_value(client) == value


def _rows(html: str) -> dict[str, str]:
    """Each device row of the devices page by device id."""
    return {
        match.group(1): match.group(2)
        for match in re.finditer(r'<tr id="device-([0-9a-f-]+)">(.*?)</tr>', html, re.S)
    }


async def _marked(client: Any, headers: dict[str, str] | None = None) -> set[str]:
    resp = await client.get("/devices", headers=headers)
    assert resp.status == 200, await resp.text()
    return {device for device, row in _rows(await resp.text()).items() if MARK in row}


async def test_approving_on_the_page_marks_the_device(client: Any, admin_token: str) -> None:
    """An approval on the page sets a long-lived, HttpOnly, Lax, signed cookie of device ids,
    newest first, and the devices page and the device's own page mark those devices (and
    still say "same IP as you"); a device approved through the API is not marked."""
    elsewhere = await connect_device(client, admin_token, hostname="elsewhere")
    await page_login(client)
    first, _ = await _decide_on_page(client)
    second, resp = await _decide_on_page(client)
    cookie = _set_cookies(resp)[COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/"
    assert int(cookie["max-age"]) == FOUR_HUNDRED_DAYS
    ids, _, mac = cookie.value.rpartition(".")
    assert ids == f"{second}.{first}" and re.fullmatch(r"[0-9a-f]{64}", mac)

    html = await (await client.get("/devices")).text()
    rows = _rows(html)
    assert {first, second, elsewhere.id} <= rows.keys()
    assert await _marked(client) == {first, second}
    assert all("same IP as you" in row for row in rows.values())
    detail = await (await client.get(f"/devices/{first}/lock")).text()
    assert "You approved this device in this browser" in detail
    detail = await (await client.get(f"/devices/{elsewhere.id}/lock")).text()
    assert "in this browser" not in detail


async def test_deny_does_not_add_the_device(client: Any) -> None:
    """Denying on the page sets no cookie and leaves an earlier one as it was."""
    await page_login(client)
    denied, resp = await _decide_on_page(client, "deny")
    assert COOKIE not in _set_cookies(resp) and _jar_value(client) is None
    approved, _ = await _decide_on_page(client)
    before = _jar_value(client)
    _, resp = await _decide_on_page(client, "deny")
    assert COOKIE not in _set_cookies(resp) and _jar_value(client) == before
    assert (before or "").startswith(f"{approved}.")
    assert await _marked(client) == {approved}
    resp = await client.get("/devices?view=refused")
    assert denied in await resp.text() and MARK not in await resp.text()


async def test_deleted_device_loses_its_mark(client: Any) -> None:
    """Deleting a device approved in this browser: its row and mark are gone, the page
    works, and the next approval still keeps the cookie going."""
    await page_login(client)
    gone, _ = await _decide_on_page(client)
    page = await client.get("/devices")
    resp = await client.post(
        f"/devices/{gone}/delete", data={"csrf_token": csrf_from(await page.text())}
    )
    assert resp.status == 200
    assert gone not in _rows(await resp.text()) and MARK not in await resp.text()
    kept, _ = await _decide_on_page(client)
    assert await _marked(client) == {kept}


async def test_tampered_cookie_is_ignored(client: Any, admin_token: str) -> None:
    """A cookie whose ids or signature were changed marks nothing, never breaks a page, and
    is replaced by the next approval."""
    await page_login(client)
    approved, _ = await _decide_on_page(client)
    other = await connect_device(client, admin_token, hostname="other")
    genuine = _jar_value(client)
    assert genuine is not None
    ids, _, mac = genuine.rpartition(".")
    for forged in (
        f"{other.id}.{mac}",
        f"{ids}.{other.id}.{mac}",
        f"{ids}.{'0' * 64}",
        f"{ids}.{mac[:-1]}",
        ids,
        f"{other.id}",
        "x" * 5000,
        "",
    ):
        _plant(client, forged)
        assert await _marked(client) == set(), forged
        detail = await client.get(f"/devices/{approved}/lock")
        assert detail.status == 200 and "in this browser" not in await detail.text()
    _plant(client, f"{other.id}.{mac}")
    newest, _ = await _decide_on_page(client)
    assert (_jar_value(client) or "").startswith(f"{newest}.")
    assert await _marked(client) == {newest}


async def test_other_users_devices_are_not_marked(client: Any, admin_token: str) -> None:
    """After switching accounts in the same browser, the mark shows only on the logged-in
    user's own devices; another user's device in the cookie opens nothing."""
    await make_user(client, admin_token, "alice", "alice-password-1")
    await page_login(client, "alice", "alice-password-1")
    alices, _ = await _decide_on_page(client)
    home = await client.get("/")
    await client.post("/logout", data={"csrf_token": csrf_from(await home.text())})
    assert (_jar_value(client) or "").startswith(alices)

    await page_login(client, "admin", ADMIN_PASSWORD)
    admins_own = await connect_device(client, admin_token, hostname="admins-own")
    assert await _marked(client) == set()
    assert alices not in _rows(await (await client.get("/devices")).text())
    assert (await client.get(f"/devices/{alices}/lock")).status == 404
    admins, _ = await _decide_on_page(client)
    assert (_jar_value(client) or "").startswith(f"{admins}.{alices}.")
    assert await _marked(client) == {admins}
    assert admins_own.id not in await _marked(client)

    client.session.cookie_jar.clear(lambda morsel: morsel.key == "zenml_session")
    await page_login(client, "alice", "alice-password-1")
    assert await _marked(client) == {alices}


async def test_keeps_the_newest_twenty(make_client: Any) -> None:
    """The cookie keeps the last 20 devices approved in this browser, newest first: the
    21st approval drops the oldest, whose mark goes."""
    client = await make_client(rate_limit_scale=10.0)
    await page_login(client)
    approved = [(await _decide_on_page(client))[0] for _ in range(21)]
    ids = (_jar_value(client) or "").split(".")[:-1]
    assert ids == approved[::-1][:20]
    assert await _marked(client) == set(approved[1:])


async def test_https_cookie_is_host_prefixed(make_client: Any) -> None:
    """Served over https the cookie is ``__Host-`` (Secure, Path=/, no Domain); a plain-named
    copy is ignored."""
    client = await make_client(url="https://auth.example.com")
    page = await client.get("/login")
    nonce = _set_cookies(page)["__Host-zenml_csrf"].value
    resp = await client.post(
        "/login",
        data={
            "csrf_token": csrf_from(await page.text()),
            "username": "admin",
            "password": ADMIN_PASSWORD,
        },
        headers={"Cookie": f"__Host-zenml_csrf={nonce}"},
        allow_redirects=False,
    )
    session = _set_cookies(resp)["__Host-zenml_session"].value
    # The client's jar does not send Secure cookies over http: send them by hand.
    headers = {"Cookie": f"__Host-zenml_session={session}"}
    device_id, resp = await _decide_on_page(client, headers=headers)
    cookies = _set_cookies(resp)
    assert COOKIE not in cookies
    cookie = cookies[f"__Host-{COOKIE}"]
    assert cookie["secure"] and cookie["httponly"] and cookie["path"] == "/"
    assert not cookie["domain"] and cookie["samesite"] == "Lax"
    value = cookie.value
    marked = await _marked(client, {"Cookie": f"{headers['Cookie']}; __Host-{COOKIE}={value}"})
    assert marked == {device_id}
    assert await _marked(client, {"Cookie": f"{headers['Cookie']}; {COOKIE}={value}"}) == set()
