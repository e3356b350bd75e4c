"""The approval page against phishing (RFC 8628 §5.4): who you are, the full access given,
what the device only claims, where it asked from versus where you are, and whether this
computer logged in before; and a phone-sized trust checkbox. In real Chromium."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.builders import ADMIN_PASSWORD
from tests.servers import serving_app
from zenml_server.http.api.tokens import DEVICE_CODE_GRANT

pytestmark = pytest.mark.browser
CLIENT_ID = "3c1d2e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
USER_AGENT = "zenml-cli/0.4.2 Host/far-away-box ZenML/0.4.2 Python/3.11.7 OS/Linux"


@pytest.fixture
async def proxied_url(tmp_path: Path) -> AsyncIterator[str]:
    """A real server that believes X-Forwarded-For from 127.0.0.1 (as behind nginx)."""
    proxies = (ipaddress.ip_network("127.0.0.1/32"),)
    async with serving_app(f"sqlite:///{tmp_path}/s.sqlite", trusted_proxies=proxies) as url:
        yield url


async def _ask(base: str, *, forwarded_for: str | None = None) -> dict[str, Any]:
    headers = {"User-Agent": USER_AGENT}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    async with aiohttp.ClientSession() as http:
        resp = await http.post(
            f"{base}/api/v1/device_authorization", data={"client_id": CLIENT_ID}, headers=headers
        )
        assert resp.status == 200
        body: dict[str, Any] = await resp.json()
        return body


async def _poll(base: str, authorization: dict[str, Any]) -> int:
    async with aiohttp.ClientSession() as http:
        resp = await http.post(
            f"{base}/api/v1/login",
            data={
                "grant_type": DEVICE_CODE_GRANT,
                "client_id": CLIENT_ID,
                "device_code": authorization["device_code"],
            },
        )
        return resp.status


async def _open(page: Any, authorization: dict[str, Any]) -> str:
    """Open verification_uri_complete, log in, and return the confirmation page's text."""
    await page.goto(authorization["verification_uri_complete"])
    if "/login" in page.url:
        await page.fill("#username", "admin")
        await page.fill("#password", ADMIN_PASSWORD)
        await page.click("button[type=submit]")
    await page.wait_for_selector("text=Is this your device?")
    text: str = await page.inner_text("main")
    return text


async def test_approval_page_shows_the_facts_that_expose_phishing(
    page: Any, proxied_url: str
) -> None:
    """Signed-in user and full access, device claims labelled, both addresses with a warning
    when they differ, and 'never logged in before' for a new computer."""
    authorization = await _ask(proxied_url, forwarded_for="203.0.113.77")
    text = await _open(page, authorization)
    assert "You are signed in as admin" in text
    assert "full access to the admin account" in text
    assert await page.inner_text("#requested-from") == "203.0.113.77"
    assert await page.inner_text("#approver-address") == "127.0.0.1"
    warning = await page.inner_text("#address-warning")
    assert "different network address" in warning
    assert "never logged in to this account before" in await page.inner_text("#seen-before")
    assert text.count("(reported by the device)") == 3
    assert "zenml-cli 0.4.2" in await page.inner_text("#client-name")
    # a code opened from the link still has to be checked against the terminal
    assert "Check that this code is the one shown in your terminal" in text
    assert authorization["user_code"] in text


async def test_same_address_no_warning_and_seen_before(page: Any, proxied_url: str) -> None:
    """From the approver's own address there is no warning; once this computer logged in,
    the next request from it says so."""
    first = await _ask(proxied_url)
    await _open(page, first)
    assert await page.locator("#address-warning").count() == 0
    await page.click("button[value=authorize]")
    await page.wait_for_selector("text=Device authorized")
    assert await _poll(proxied_url, first) == 200
    second = await _ask(proxied_url)
    await _open(page, second)
    seen = await page.inner_text("#seen-before")
    assert "has logged in to this account before" in seen


async def test_trust_checkbox_is_a_44px_tap_target_on_a_phone(
    browser: Any, proxied_url: str
) -> None:
    """On a 375 px wide phone the 'Trust this device' checkbox is at least 44 x 44 px."""
    authorization = await _ask(proxied_url)
    context = await browser.new_context(viewport={"width": 375, "height": 740})
    page = await context.new_page()
    await _open(page, authorization)
    box = await page.locator("#trusted_device").bounding_box()
    assert box["width"] >= 44 and box["height"] >= 44
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375
    await page.screenshot(path="/tmp/h9a_approval_phone.png", full_page=True)
    await context.close()


async def test_locked_device_page_says_who_locked_it(page: Any, proxied_url: str) -> None:
    """A request an admin locked is shown as locked by an administrator, not 'after too many
    wrong codes'."""
    authorization = await _ask(proxied_url)
    await _open(page, authorization)
    device_id = authorization["verification_uri_complete"].split("device_id=")[1].split("&")[0]
    async with aiohttp.ClientSession() as http:
        resp = await http.post(
            f"{proxied_url}/api/v1/login", data={"username": "admin", "password": ADMIN_PASSWORD}
        )
        token = (await resp.json())["access_token"]
        resp = await http.put(
            f"{proxied_url}/api/v1/devices/{device_id}",
            json={"locked": True},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert resp.status == 200
    await page.goto(authorization["verification_uri_complete"])
    text = await page.inner_text("main")
    assert "locked by an administrator" in text and "wrong codes" not in text
