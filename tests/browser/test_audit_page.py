"""The audit trail page in a real browser (Chromium via Playwright) against a real server."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.builders import ADMIN_PASSWORD

pytestmark = pytest.mark.browser


async def test_admin_reads_and_filters_the_audit_trail(server_url: str, page: Any) -> None:
    """An admin sees a change made through the API on /audit (who, what, target) and can
    filter by action; the page forbids framing."""
    async with aiohttp.ClientSession() as session:
        async with session.post(
            server_url + "/api/v1/login", data={"username": "admin", "password": ADMIN_PASSWORD}
        ) as resp:
            token = (await resp.json())["access_token"]
        async with session.post(
            server_url + "/api/v1/service_accounts",
            json={"name": "audited-bot"},
            headers={"Authorization": f"Bearer {token}"},
        ) as resp:
            assert resp.status == 201
    await page.goto(server_url + "/audit")
    assert "/login" in page.url
    await page.fill("#username", "admin")
    await page.fill("#password", ADMIN_PASSWORD)
    await page.click("button[type=submit].primary")
    await page.wait_for_url(server_url + "/audit")
    table = page.locator("#audit-events")
    text = await table.text_content() or ""
    assert "service_account.created" in text and "audited-bot" in text
    assert "login.password" in text
    await page.fill("input[name=action]", "service_account.")
    await page.click("form.filters button[type=submit]")
    await page.wait_for_url("**/audit?**")
    rows = await page.locator("#audit-events tbody tr").all_text_contents()
    assert rows and all("service_account." in row for row in rows)
    response = await page.request.get(server_url + "/audit")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
