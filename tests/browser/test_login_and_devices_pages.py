"""The login page and the /devices page in a real browser."""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp
import pytest

from tests.browser.conftest import shoot
from tests.builders import ADMIN_PASSWORD
from zenml_server.http.api.tokens import DEVICE_CODE_GRANT

pytestmark = pytest.mark.browser


async def _log_in(page: Any, base: str) -> None:
    await page.goto(f"{base}/login")
    await page.fill("#username", "admin")
    await page.fill("#password", ADMIN_PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/")


async def _connected_device(base: str, hostname: str) -> tuple[str, str]:
    """A device approved by the admin through the API: (device id, its access token)."""
    client_id = str(uuid.uuid4())
    async with aiohttp.ClientSession() as http:
        login = await http.post(
            f"{base}/api/v1/login", data={"username": "admin", "password": ADMIN_PASSWORD}
        )
        admin = {"Authorization": f"Bearer {(await login.json())['access_token']}"}
        auth = await (
            await http.post(
                f"{base}/api/v1/device_authorization",
                data={"client_id": client_id},
                headers={"User-Agent": f"Host/{hostname} ZenML/0.98.0 Python/3.11.7 OS/Linux"},
            )
        ).json()
        device_id = auth["verification_uri_complete"].split("device_id=")[1].split("&")[0]
        resp = await http.put(
            f"{base}/api/v1/devices/{device_id}/verify",
            json={"user_code": auth["user_code"], "trusted_device": False},
            headers=admin,
        )
        assert resp.status == 200
        token = await (
            await http.post(
                f"{base}/api/v1/login",
                data={
                    "grant_type": DEVICE_CODE_GRANT,
                    "client_id": client_id,
                    "device_code": auth["device_code"],
                },
            )
        ).json()
        return device_id, token["access_token"]


async def _token_works(base: str, token: str) -> bool:
    async with aiohttp.ClientSession() as http:
        resp = await http.get(
            f"{base}/api/v1/current-user", headers={"Authorization": f"Bearer {token}"}
        )
        return resp.status == 200


async def test_admin_logs_in_and_out(page: Any, server_url: str) -> None:
    """The admin logs in through the form, lands on the start page, and logs out."""
    await page.goto(f"{server_url}/")
    assert "/login" in page.url
    await page.fill("#username", "admin")
    await page.fill("#password", "wrong-password")
    await page.click("button[type=submit]")
    assert "Wrong username or password." in await page.text_content("main")
    await _log_in(page, server_url)
    assert "Welcome, admin" in await page.text_content("h1")
    await page.click("text=Log out admin")
    await page.wait_for_url(f"{server_url}/login")


async def test_devices_page_locks_unlocks_and_deletes(page: Any, server_url: str) -> None:
    """/devices lists the device; Lock and Delete each ask on a page of their own first (and
    change nothing until confirmed), Lock refuses its token, Unlock restores it, Delete
    removes it."""
    device_id, token = await _connected_device(server_url, "build-box-7")
    await _log_in(page, server_url)
    await page.goto(f"{server_url}/devices")
    row = page.locator(f"#device-{device_id}")
    assert "build-box-7" in await row.text_content()
    assert (await row.locator(".status").text_content()).strip() == "active"
    await shoot(page, "devices")

    await row.get_by_role("link", name="Lock").click()
    await page.wait_for_url(f"{server_url}/devices/{device_id}/lock")
    assert await _token_works(server_url, token)
    await shoot(page, "device-confirm-lock")
    await page.get_by_role("button", name="Lock device").click()
    await page.wait_for_url(f"{server_url}/devices?view=permitted&done=lock")
    assert (await row.locator(".status").text_content()).strip() == "locked"
    assert not await _token_works(server_url, token)

    await row.get_by_role("button", name="Unlock").click()
    await page.wait_for_url(f"{server_url}/devices?view=permitted&done=unlock")
    assert (await row.locator(".status").text_content()).strip() == "active"
    assert await _token_works(server_url, token)

    await row.get_by_role("link", name="Delete").click()
    await shoot(page, "device-confirm-delete")
    await page.get_by_role("link", name="Cancel").click()
    await page.wait_for_url(f"{server_url}/devices")
    assert await _token_works(server_url, token)
    await row.get_by_role("link", name="Delete").click()
    await page.get_by_role("button", name="Delete device").click()
    await page.wait_for_url(f"{server_url}/devices?view=permitted&done=delete")
    assert await page.locator(f"#device-{device_id}").count() == 0
    assert not await _token_works(server_url, token)


async def test_identical_devices_can_be_told_apart(page: Any, server_url: str) -> None:
    """Three "vm / Linux" devices show different short client ids; rows have one height and
    Delete is styled more dangerous (filled) than Lock (outlined)."""
    ids = [(await _connected_device(server_url, "vm"))[0] for _ in range(3)]
    await _log_in(page, server_url)
    await page.goto(f"{server_url}/devices")
    subs = [await page.locator(f"#device-{i} .sub").text_content() for i in ids]
    assert len(set(subs)) == 3 and all("client " in (s or "") for s in subs)
    heights = {round((await page.locator(f"#device-{i}").bounding_box())["height"]) for i in ids}
    assert len(heights) == 1, heights
    row = page.locator(f"#device-{ids[0]}")
    lock_bg = await row.get_by_role("link", name="Lock").evaluate(
        "e => getComputedStyle(e).backgroundColor"
    )
    delete_bg = await row.get_by_role("link", name="Delete").evaluate(
        "e => getComputedStyle(e).backgroundColor"
    )
    assert lock_bg == "rgb(255, 255, 255)" and delete_bg == "rgb(179, 38, 30)"
    actions = row.locator(".actions")
    box = await actions.bounding_box()
    assert box is not None and box["height"] < 60  # the buttons sit on one line


async def test_denied_and_expired_are_a_view_of_their_own(page: Any, server_url: str) -> None:
    """A denied request is not mixed in with permitted devices; the second tab shows it."""
    permitted, _ = await _connected_device(server_url, "good-box")
    denied, link = await _login_request(server_url, "bad-box")
    await _log_in(page, server_url)
    await page.goto(link)
    await page.click("button[value=deny]")
    await page.wait_for_selector("text=Login denied")
    await page.goto(f"{server_url}/devices")
    assert await page.locator(f"#device-{permitted}").count() == 1
    assert await page.locator(f"#device-{denied}").count() == 0
    await page.get_by_role("link", name="Denied and expired").click()
    await page.wait_for_url(f"{server_url}/devices?view=refused")
    assert await page.locator(f"#device-{denied}").count() == 1
    assert await page.locator(f"#device-{permitted}").count() == 0
    await shoot(page, "devices-refused")


async def test_devices_page_fits_a_phone(browser: Any, server_url: str) -> None:
    """On a 375 px wide screen the device list needs no sideways scrolling."""
    await _connected_device(server_url, "a-rather-long-hostname-for-a-phone-screen.example.com")
    context = await browser.new_context(viewport={"width": 375, "height": 740})
    page = await context.new_page()
    await _log_in(page, server_url)
    await page.goto(f"{server_url}/devices")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375
    await context.close()


async def test_small_pages(page: Any, server_url: str) -> None:
    """The login page says why when a device approval sent you there; a missing static file
    and /static/ are the 404 page (with the navigation when logged in); GET /logout is a page
    with a logout button; links use the theme colour."""
    await page.goto(f"{server_url}/devices/verify?user_code=BBBB-BBBB")
    assert "/login" in page.url
    assert "A device is asking to connect" in await page.text_content("main")
    await shoot(page, "login-from-approval")
    await page.goto(f"{server_url}/login")
    assert "A device is asking" not in await page.text_content("main")
    await shoot(page, "login")
    for path in ("/static/missing.css", "/static/", "/static"):
        response = await page.goto(server_url + path)
        assert response is not None and response.status == 404, path
        assert response.headers["content-type"].startswith("text/html")
        assert "Not found" in await page.text_content("h1")
    await _log_in(page, server_url)
    response = await page.goto(f"{server_url}/no-such-page")
    assert response is not None and response.status == 404
    assert await page.locator("text=Log out admin").count() == 1
    await shoot(page, "not-found")
    colour = await page.locator("main a").first.evaluate("e => getComputedStyle(e).color")
    assert colour == "rgb(67, 29, 147)"
    await page.goto(f"{server_url}/")
    await shoot(page, "home")
    response = await page.goto(f"{server_url}/logout")
    assert response is not None and response.status == 200
    await shoot(page, "logout")
    await page.get_by_role("button", name="Log out").last.click()
    await page.wait_for_url(f"{server_url}/login")
    await page.goto(f"{server_url}/devices")
    assert "/login" in page.url


async def _login_request(base: str, hostname: str) -> tuple[str, str]:
    """A pending login request: (its device id, the link the CLI would print)."""
    async with aiohttp.ClientSession() as http:
        auth = await (
            await http.post(
                f"{base}/api/v1/device_authorization",
                data={"client_id": str(uuid.uuid4())},
                headers={"User-Agent": f"Host/{hostname} ZenML/0.98.0 Python/3.11.7 OS/Linux"},
            )
        ).json()
    link: str = auth["verification_uri_complete"]
    return link.split("device_id=")[1].split("&")[0], link


async def test_device_approved_here_is_marked(page: Any, server_url: str) -> None:
    """A device approved in this browser is marked "approved in this browser" on /devices and
    on its own page; one approved elsewhere is not; the cookie is HttpOnly and Lax."""
    elsewhere, _ = await _connected_device(server_url, "build-box-9")
    here, link = await _login_request(server_url, "this-laptop")
    await _log_in(page, server_url)
    await page.goto(link)
    await page.click("button[value=authorize]")
    await page.wait_for_selector("text=Device authorized")
    await page.goto(f"{server_url}/devices")
    row = page.locator(f"#device-{here}")
    mark = row.locator(".here")
    assert (await mark.text_content()).strip() == "approved in this browser"
    assert await mark.is_visible()
    assert await mark.evaluate("e => e.scrollWidth <= e.clientWidth")  # not cut off
    assert "same IP as you" in await row.text_content()
    assert "in this browser" not in await page.locator(f"#device-{elsewhere}").text_content()
    await shoot(page, "devices-approved-here")
    cookies = {c["name"]: c for c in await page.context.cookies()}
    assert cookies["zenml_approved_here"]["httpOnly"]
    assert cookies["zenml_approved_here"]["sameSite"] == "Lax"
    assert "zenml_approved_here" not in await page.evaluate("document.cookie")
    await row.get_by_role("link", name="Lock").click()
    await page.wait_for_url(f"{server_url}/devices/{here}/lock")
    assert "You approved this device in this browser" in await page.text_content("main")
    await shoot(page, "device-confirm-lock-approved-here")
