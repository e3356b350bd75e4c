"""The service-accounts admin page in a real browser (Chromium via Playwright) against a real
server on SQLite."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.builders import ADMIN_PASSWORD, make_settings
from zenml_server.domain.secrets import looks_like_api_key
from zenml_server.http.app import create_app

CHROMIUM = "/usr/bin/chromium"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _require_chromium() -> None:
    if not Path(CHROMIUM).exists():
        if IN_CI:
            pytest.fail(f"{CHROMIUM} is required in CI")
        pytest.skip(f"{CHROMIUM} not installed")


@pytest.fixture
async def sa_server(tmp_path: Path) -> AsyncIterator[str]:
    """The real app on SQLite, listening on a free localhost port, in this test's loop."""
    _require_chromium()
    port = _free_port()
    settings = make_settings(database_url=f"sqlite:///{tmp_path}/browser.sqlite", port=port)
    runner = web.AppRunner(create_app(settings), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def sa_page(sa_server: str) -> AsyncIterator[Any]:
    """A Chromium page; fails the test on a console error other than an HTTP status (a CSP
    violation, a script error)."""
    from playwright.async_api import async_playwright

    errors: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            yield page
        finally:
            await browser.close()
    assert not [e for e in errors if not e.startswith("Failed to load resource")], errors


async def _status(url: str, credential: str) -> int:
    async with aiohttp.ClientSession() as session:
        headers = {"Authorization": f"Bearer {credential}"}
        async with session.get(url + "/api/v1/current-user", headers=headers) as resp:
            return resp.status


async def test_admin_creates_rotates_and_deactivates(sa_server: str, sa_page: Any) -> None:
    """An admin logs in, creates an account with a key (shown once), rotates it and
    deactivates it, and the server honours each step."""
    page = sa_page
    await page.goto(sa_server + "/service-accounts")
    assert "/login" in page.url
    await page.fill("#username", "admin")
    await page.fill("#password", ADMIN_PASSWORD)
    await page.click("button[type=submit].primary")
    await page.wait_for_url(sa_server + "/service-accounts")

    await page.fill("#sa-name", "browser-ci")
    await page.fill("#sa-description", "made in a browser")
    await page.click("#create-account button[type=submit]")
    first = (await page.text_content("[data-testid=new-api-key]") or "").strip()
    assert looks_like_api_key(first)
    assert await _status(sa_server, first) == 200

    await page.goto(sa_server + "/service-accounts")
    assert await page.locator("[data-testid=new-api-key]").count() == 0
    assert first not in await page.content()
    row = page.locator('[data-account="browser-ci"] tr[data-key="default"]')
    assert "active" in (await row.text_content() or "")

    await row.locator("form.rotate input[name=retain_period_minutes]").fill("0")
    await row.locator("form.rotate button").click()
    second = (await page.text_content("[data-testid=new-api-key]") or "").strip()
    assert looks_like_api_key(second) and second != first
    assert await _status(sa_server, first) == 401
    assert await _status(sa_server, second) == 200

    row = page.locator('[data-account="browser-ci"] tr[data-key="default"]')
    await row.get_by_role("button", name="Deactivate").click()
    await page.wait_for_url(sa_server + "/service-accounts")
    row = page.locator('[data-account="browser-ci"] tr[data-key="default"]')
    assert "inactive" in (await row.text_content() or "")
    assert await _status(sa_server, second) == 401


async def test_non_admin_is_refused(sa_server: str, sa_page: Any) -> None:
    """A user who is not an admin sees 403 on the page."""
    async with aiohttp.ClientSession() as session:
        form = {"username": "admin", "password": ADMIN_PASSWORD}
        async with session.post(sa_server + "/api/v1/login", data=form) as resp:
            token = (await resp.json())["access_token"]
        body = {"name": "viewer", "password": "viewer-password-1"}
        headers = {"Authorization": f"Bearer {token}"}
        async with session.post(sa_server + "/api/v1/users", json=body, headers=headers) as resp:
            assert resp.status == 201
    page = sa_page
    await page.goto(sa_server + "/login")
    await page.fill("#username", "viewer")
    await page.fill("#password", "viewer-password-1")
    await page.click("button[type=submit].primary")
    await page.wait_for_url(sa_server + "/")
    response = await page.goto(sa_server + "/service-accounts")
    assert response is not None and response.status == 403
