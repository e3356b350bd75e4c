"""/account/password in real Chromium: change your own password; other sessions end, this
one stays."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.builders import ADMIN_PASSWORD

pytestmark = pytest.mark.browser


async def _log_in(page: Any, base: str, password: str = ADMIN_PASSWORD) -> None:
    await page.goto(f"{base}/login")
    await page.fill("#username", "admin")
    await page.fill("#password", password)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/")


async def test_change_password_page(browser: Any, server_url: str) -> None:
    """Wrong current password says so; a good change keeps this browser logged in, logs the
    other browser and the old tokens out, and only the new password logs in."""
    mine = await browser.new_context()
    other = await browser.new_context()
    page, other_page = await mine.new_page(), await other.new_page()
    await _log_in(page, server_url)
    await _log_in(other_page, server_url)
    async with aiohttp.ClientSession() as http:
        resp = await http.post(
            f"{server_url}/api/v1/login", data={"username": "admin", "password": ADMIN_PASSWORD}
        )
        old_token = (await resp.json())["access_token"]

    await page.goto(f"{server_url}/account/password")
    await page.fill("#old_password", "not-my-password")
    await page.fill("#new_password", "brand-new-pass-1")
    await page.fill("#confirm_password", "brand-new-pass-1")
    await page.click("#change-password")
    assert "The current password is not right." in await page.inner_text("main")

    await page.fill("#old_password", ADMIN_PASSWORD)
    await page.fill("#new_password", "brand-new-pass-1")
    await page.fill("#confirm_password", "brand-new-pass-1")
    await page.click("#change-password")
    await page.wait_for_selector("text=Password changed")

    await page.goto(f"{server_url}/devices")
    assert page.url == f"{server_url}/devices"  # this browser is still logged in
    await other_page.goto(f"{server_url}/devices")
    assert "/login" in other_page.url  # the other one is not
    async with aiohttp.ClientSession() as http:
        resp = await http.get(
            f"{server_url}/api/v1/current-user", headers={"Authorization": f"Bearer {old_token}"}
        )
        assert resp.status == 401
    await _log_in(other_page, server_url, "brand-new-pass-1")
    await mine.close()
    await other.close()
