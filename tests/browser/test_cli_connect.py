"""The whole device login as a person does it: ``zenml connect`` in a terminal, approval in
the browser, and the CLI connected with a 30-day token."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.builders import ADMIN_PASSWORD
from tests.servers import serving_app

pytestmark = pytest.mark.browser
ZENML = str(Path(sys.executable).with_name("zenml"))


@pytest.fixture
async def slow_poll_server(tmp_path: Path) -> AsyncIterator[str]:
    """The app with a 1 s polling interval, so the real CLI's polls come quickly."""
    async with serving_app(
        f"sqlite:///{tmp_path}/server.sqlite", device_auth_polling_interval=1
    ) as url:
        yield url


async def _zenml(config: Path, *args: str) -> asyncio.subprocess.Process:
    env = {**os.environ, "ZENML_CONFIG_PATH": str(config)}
    env.pop("ZENML_STORE_URL", None)
    env.pop("ZENML_STORE_API_KEY", None)
    return await asyncio.create_subprocess_exec(
        ZENML, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )


async def test_zenml_connect_approved_in_the_browser(
    page: Any, slow_poll_server: str, tmp_path: Path
) -> None:
    """The CLI prints a link and code; the browser approves with trust; the CLI connects."""
    base = slow_poll_server
    cli = await _zenml(tmp_path / "cfg", "connect", "--url", base, "--no-browser")
    assert cli.stdout is not None
    link = code = None
    while link is None or code is None:
        line = (await asyncio.wait_for(cli.stdout.readline(), 30)).decode()
        assert line, "the CLI ended before printing the link"
        if line.strip().startswith(f"{base}/devices/verify?"):
            link = line.strip()
        if "Your code:" in line:
            code = line.split("Your code:")[1].strip()

    await page.goto(link)
    await page.fill("#username", "admin")
    await page.fill("#password", ADMIN_PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_selector("text=Is this your device?")
    assert code in await page.inner_text("main")
    await page.locator("#trusted_device").check()
    await page.click("button[value=authorize]")
    await page.wait_for_selector("text=Device authorized")

    out, err = await asyncio.wait_for(cli.communicate(), 60)
    assert cli.returncode == 0, err.decode()
    assert f"Connected to {base} as admin." in out.decode()

    listing = await _zenml(tmp_path / "cfg", "authorized-device", "list", "--output", "json")
    out, err = await asyncio.wait_for(listing.communicate(), 60)
    assert listing.returncode == 0, err.decode()
    devices: list[dict[str, Any]] = (
        json.loads(out)["items"] if out.startswith(b"{") else json.loads(out)
    )
    assert len(devices) == 1
    assert devices[0]["trusted_device"] is True and devices[0]["status"] == "active"
