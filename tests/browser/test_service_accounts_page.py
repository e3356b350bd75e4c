"""The service-accounts admin pages in a real browser (Chromium via Playwright) against a real
server on SQLite."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.browser.conftest import shoot
from tests.builders import ADMIN_PASSWORD
from zenml_server.domain.secrets import looks_like_api_key

pytestmark = pytest.mark.browser


async def _status(url: str, credential: str) -> int:
    async with aiohttp.ClientSession() as session:
        headers = {"Authorization": f"Bearer {credential}"}
        async with session.get(url + "/api/v1/current-user", headers=headers) as resp:
            return resp.status


async def _log_in(page: Any, server_url: str) -> None:
    await page.goto(server_url + "/service-accounts")
    assert "/login" in page.url
    await page.fill("#username", "admin")
    await page.fill("#password", ADMIN_PASSWORD)
    await page.click("button[type=submit].primary")
    await page.wait_for_url(server_url + "/service-accounts")


async def test_admin_creates_rotates_and_deactivates(server_url: str, page: Any) -> None:
    """An admin creates an account (landing on its page with the key shown once and a Copy
    button), rotates with 0 minutes after a confirmation, deactivates after a confirmation,
    and the server honours each step; a reload never repeats a change."""
    await _log_in(page, server_url)
    await shoot(page, "service-accounts-empty")
    await page.fill("#sa-name", "browser-ci")
    await page.fill("#sa-description", "made in a browser")
    await page.click("#create-account button[type=submit]")
    await page.wait_for_url(server_url + "/service-accounts/*")
    account_url = page.url
    first = (await page.text_content("[data-testid=new-api-key]") or "").strip()
    assert looks_like_api_key(first)
    assert f"--api-key {first}" in (await page.text_content("[data-testid=connect-hint]") or "")
    assert await page.locator("button.copy").is_visible()  # JavaScript revealed it
    assert await _status(server_url, first) == 200
    await shoot(page, "service-account-new-key")

    await page.reload()
    assert await page.locator("[data-testid=new-api-key]").count() == 0
    assert first not in await page.content()
    row = page.locator('tr[data-key="default"]')
    assert "active" in (await row.text_content() or "")
    await shoot(page, "service-account")

    await row.get_by_role("button", name="Rotate…").click()
    await page.wait_for_selector("text=stop working at once")
    assert await _status(server_url, first) == 200  # asking changed nothing
    await shoot(page, "service-account-confirm-rotate")
    await page.get_by_role("button", name="Rotate").click()
    await page.wait_for_url(account_url)
    second = (await page.text_content("[data-testid=new-api-key]") or "").strip()
    assert looks_like_api_key(second) and second != first
    assert await _status(server_url, first) == 401
    await page.reload()
    assert await _status(server_url, second) == 200  # the reload did not rotate again

    row = page.locator('tr[data-key="default"]')
    await row.get_by_role("button", name="Deactivate").click()
    await page.get_by_role("button", name="Deactivate key").click()
    await page.wait_for_url(account_url)
    row = page.locator('tr[data-key="default"]')
    assert "inactive" in (await row.text_content() or "")
    assert await _status(server_url, second) == 401

    await page.goto(server_url + "/service-accounts")
    listed = page.locator('tr[data-account="browser-ci"]')
    assert "made in a browser" in (await listed.text_content() or "")
    await shoot(page, "service-accounts")


async def test_secret_is_shown_without_javascript(browser: Any, server_url: str) -> None:
    """With JavaScript off every step still works: the key is on the page, the Copy button
    stays hidden, the confirmation is a plain form."""
    context = await browser.new_context(java_script_enabled=False)
    page = await context.new_page()
    try:
        await _log_in(page, server_url)
        await page.fill("#sa-name", "no-js")
        await page.click("#create-account button[type=submit]")
        await page.wait_for_url(server_url + "/service-accounts/*")
        secret = (await page.text_content("[data-testid=new-api-key]") or "").strip()
        assert looks_like_api_key(secret)
        assert not await page.locator("button.copy").is_visible()
        await page.get_by_role("button", name="Delete account").click()
        await page.get_by_role("button", name="Delete account").click()
        await page.wait_for_url(server_url + "/service-accounts")
        assert await _status(server_url, secret) == 401
    finally:
        await context.close()


async def test_non_admin_is_refused(server_url: str, page: Any) -> None:
    """A user who is not an admin sees 403 on the page, with the navigation kept."""
    async with aiohttp.ClientSession() as session:
        form = {"username": "admin", "password": ADMIN_PASSWORD}
        async with session.post(server_url + "/api/v1/login", data=form) as resp:
            token = (await resp.json())["access_token"]
        body = {"name": "viewer", "password": "viewer-password-1"}
        headers = {"Authorization": f"Bearer {token}"}
        async with session.post(server_url + "/api/v1/users", json=body, headers=headers) as resp:
            assert resp.status == 201
    await page.goto(server_url + "/login")
    await page.fill("#username", "viewer")
    await page.fill("#password", "viewer-password-1")
    await page.click("button[type=submit].primary")
    await page.wait_for_url(server_url + "/")
    response = await page.goto(server_url + "/service-accounts")
    assert response is not None and response.status == 403
    assert await page.locator("text=Log out viewer").count() == 1
