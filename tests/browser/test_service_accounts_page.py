"""The service-accounts admin page in a real browser (Chromium via Playwright) against a real
server on SQLite."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.builders import ADMIN_PASSWORD
from zenml_server.domain.secrets import looks_like_api_key

pytestmark = pytest.mark.browser


async def _status(url: str, credential: str) -> int:
    async with aiohttp.ClientSession() as session:
        headers = {"Authorization": f"Bearer {credential}"}
        async with session.get(url + "/api/v1/current-user", headers=headers) as resp:
            return resp.status


async def test_admin_creates_rotates_and_deactivates(server_url: str, page: Any) -> None:
    """An admin logs in, creates an account with a key (shown once), rotates it and
    deactivates it, and the server honours each step."""
    await page.goto(server_url + "/service-accounts")
    assert "/login" in page.url
    await page.fill("#username", "admin")
    await page.fill("#password", ADMIN_PASSWORD)
    await page.click("button[type=submit].primary")
    await page.wait_for_url(server_url + "/service-accounts")

    await page.fill("#sa-name", "browser-ci")
    await page.fill("#sa-description", "made in a browser")
    await page.click("#create-account button[type=submit]")
    first = (await page.text_content("[data-testid=new-api-key]") or "").strip()
    assert looks_like_api_key(first)
    assert await _status(server_url, first) == 200

    await page.goto(server_url + "/service-accounts")
    assert await page.locator("[data-testid=new-api-key]").count() == 0
    assert first not in await page.content()
    row = page.locator('[data-account="browser-ci"] tr[data-key="default"]')
    assert "active" in (await row.text_content() or "")

    await row.locator("form.rotate input[name=retain_period_minutes]").fill("0")
    await row.locator("form.rotate button").click()
    second = (await page.text_content("[data-testid=new-api-key]") or "").strip()
    assert looks_like_api_key(second) and second != first
    assert await _status(server_url, first) == 401
    assert await _status(server_url, second) == 200

    row = page.locator('[data-account="browser-ci"] tr[data-key="default"]')
    await row.get_by_role("button", name="Deactivate").click()
    await page.wait_for_url(server_url + "/service-accounts")
    row = page.locator('[data-account="browser-ci"] tr[data-key="default"]')
    assert "inactive" in (await row.text_content() or "")
    assert await _status(server_url, second) == 401


async def test_non_admin_is_refused(server_url: str, page: Any) -> None:
    """A user who is not an admin sees 403 on the page."""
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
