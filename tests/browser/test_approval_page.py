"""The approval page in a real browser: log in, check the code, trust or not, authorize or
deny; and it fits a phone's screen."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.builders import ADMIN_PASSWORD
from zenml_server.http.api.tokens import DEVICE_CODE_GRANT

pytestmark = pytest.mark.browser
CLIENT_ID = "7d3c0a52-59d1-4e1c-b0a4-0f6f1cf3e2aa"
USER_AGENT = "Host/ci-runner-3 ZenML/0.98.0 Python/3.11.7 OS/Linux"


async def _authorize_request(base: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http:
        resp = await http.post(
            f"{base}/api/v1/device_authorization",
            data={"client_id": CLIENT_ID},
            headers={"User-Agent": USER_AGENT},
        )
        assert resp.status == 200
        body: dict[str, Any] = await resp.json()
        return body


async def _poll(base: str, authorization: dict[str, Any]) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http:
        resp = await http.post(
            f"{base}/api/v1/login",
            data={
                "grant_type": DEVICE_CODE_GRANT,
                "client_id": CLIENT_ID,
                "device_code": authorization["device_code"],
            },
        )
        body: dict[str, Any] = await resp.json()
        return body


async def _log_in(page: Any) -> None:
    await page.fill("#username", "admin")
    await page.fill("#password", ADMIN_PASSWORD)
    await page.click("button[type=submit]")


async def test_type_code_trust_and_authorize(browser: Any, server_url: str) -> None:
    """Log in, type the code, see the device, tick trust, authorize: a 30-day token."""
    authorization = await _authorize_request(server_url)
    page = await browser.new_page()
    await page.goto(f"{server_url}/devices/verify")
    assert "/login" in page.url
    await _log_in(page)
    await page.wait_for_url(f"{server_url}/devices/verify")
    await page.fill("#user_code", authorization["user_code"].lower().replace("-", " "))
    await page.click("text=Continue")
    await page.wait_for_selector("text=Is this your device?")
    body = await page.inner_text("main")
    assert authorization["user_code"] in body
    for fact in ("ci-runner-3", "Linux", "ZenML 0.98.0", "127.0.0.1"):
        assert fact in body
    trust = page.locator("#trusted_device")
    assert not await trust.is_checked()
    await trust.check()
    await page.click("button[value=authorize]")
    await page.wait_for_selector("text=Device authorized")
    assert "Return to your terminal" in await page.inner_text("main")
    token = await _poll(server_url, authorization)
    assert token["expires_in"] == 2592000
    assert token["token_type"] == "bearer"


async def test_deny_without_javascript(browser: Any, server_url: str) -> None:
    """With JavaScript off, the verification link, login and Deny work: access_denied."""
    authorization = await _authorize_request(server_url)
    context = await browser.new_context(java_script_enabled=False)
    page = await context.new_page()
    await page.goto(authorization["verification_uri_complete"])
    await _log_in(page)
    await page.wait_for_selector("text=Is this your device?")
    await page.click("button[value=deny]")
    await page.wait_for_selector("text=Login denied")
    assert (await _poll(server_url, authorization))["error"] == "access_denied"
    await context.close()


async def test_phone_viewport_has_no_horizontal_scroll(browser: Any, server_url: str) -> None:
    """On a 375x667 screen the confirmation page fits its width; a screenshot is kept."""
    authorization = await _authorize_request(server_url)
    context = await browser.new_context(viewport={"width": 375, "height": 667})
    page = await context.new_page()
    await page.goto(authorization["verification_uri_complete"])
    await _log_in(page)
    await page.wait_for_selector("text=Is this your device?")
    widths = await page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], widths
    await page.screenshot(path="/tmp/device_verify_phone.png", full_page=True)
    await context.close()


async def test_wrong_code_shows_message(browser: Any, server_url: str) -> None:
    """A wrong typed code shows a clear message on the page."""
    page = await browser.new_page()
    await page.goto(f"{server_url}/devices/verify")
    await _log_in(page)
    await page.wait_for_url(f"{server_url}/devices/verify")
    await page.fill("#user_code", "BCDF-GHJK")
    await page.click("text=Continue")
    await page.wait_for_selector("text=That code is not right")
