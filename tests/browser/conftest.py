"""A real server on a free localhost port (SQLite) and Debian's Chromium through Playwright.

Without /usr/bin/chromium these tests are skipped, unless CI is true: then they fail.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers import serving_app

CHROMIUM = Path("/usr/bin/chromium")
# Screenshots of every page at desktop and phone size, for a person to look at (gitignored).
SCREENSHOTS = Path(__file__).parent / "screenshots"
SIZES = {"desktop": (1280, 800), "phone": (375, 740)}
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


@pytest.fixture
async def server_url(tmp_path: Path) -> AsyncIterator[str]:
    """The base URL of the real app, served by aiohttp on 127.0.0.1 with a fresh database."""
    async with serving_app(f"sqlite:///{tmp_path}/server.sqlite") as url:
        yield url


@pytest.fixture
def chromium() -> Path:
    """Debian's Chromium: skipped when missing, a failure when missing in CI."""
    if not CHROMIUM.exists():
        if IN_CI:
            pytest.fail(f"{CHROMIUM} is required in CI")
        pytest.skip(f"{CHROMIUM} is not installed")
    return CHROMIUM


@pytest.fixture
async def browser(chromium: Path) -> AsyncIterator[Any]:
    """A headless Chromium, closed after the test."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def page(browser: Any) -> AsyncIterator[Any]:
    """A fresh page; the test fails on a console error other than an HTTP status (a CSP
    violation or a script error)."""
    errors: list[str] = []
    context = await browser.new_context()
    opened = await context.new_page()
    opened.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        yield opened
    finally:
        await context.close()
    assert not [e for e in errors if not e.startswith("Failed to load resource")], errors


async def shoot(page: Any, name: str) -> None:
    """Save the current page at 1280x800 and 375x740 (full height) under screenshots/, and
    check neither size scrolls sideways."""
    SCREENSHOTS.mkdir(exist_ok=True)
    for label, (width, height) in SIZES.items():
        await page.set_viewport_size({"width": width, "height": height})
        await page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
        scroll_width = await page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= width, f"{name} scrolls sideways at {width} px ({scroll_width})"
    await page.set_viewport_size({"width": 1280, "height": 800})
