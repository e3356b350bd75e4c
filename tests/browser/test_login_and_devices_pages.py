"""The login page and the /devices page in a real browser."""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp
import pytest

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
    """/devices lists the device; Lock refuses its token, Unlock restores it, Delete removes it."""
    device_id, token = await _connected_device(server_url, "build-box-7")
    await _log_in(page, server_url)
    await page.goto(f"{server_url}/devices")
    row = page.locator(f"#device-{device_id}")
    assert "build-box-7" in await row.text_content()
    assert (await row.locator(".status").text_content()).strip() == "active"

    await row.locator("text=Lock").click()
    await page.wait_for_url(f"{server_url}/devices?done=lock")
    assert (await row.locator(".status").text_content()).strip() == "locked"
    assert not await _token_works(server_url, token)

    await row.locator("text=Unlock").click()
    await page.wait_for_url(f"{server_url}/devices?done=unlock")
    assert (await row.locator(".status").text_content()).strip() == "active"
    assert await _token_works(server_url, token)

    await row.locator("text=Delete").click()
    await page.wait_for_url(f"{server_url}/devices?done=delete")
    assert await page.locator(f"#device-{device_id}").count() == 0
    assert not await _token_works(server_url, token)


async def test_devices_page_fits_a_phone(browser: Any, server_url: str) -> None:
    """On a 375 px wide screen the device list needs no sideways scrolling."""
    await _connected_device(server_url, "a-rather-long-hostname-for-a-phone-screen.example.com")
    context = await browser.new_context(viewport={"width": 375, "height": 667})
    page = await context.new_page()
    await _log_in(page, server_url)
    await page.goto(f"{server_url}/devices")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375
    await page.screenshot(path="/tmp/devices_phone.png", full_page=True)
