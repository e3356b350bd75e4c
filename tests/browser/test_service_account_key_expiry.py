"""API keys with an expiry through the service-account pages in a real browser (Chromium via
Playwright) against a real server on SQLite whose keys must expire within 90 days."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import shoot
from tests.browser.test_service_accounts_page import _log_in, _status
from tests.servers import serving_app
from zenml_server.domain.secrets import looks_like_api_key

pytestmark = pytest.mark.browser


@pytest.fixture
async def capped_url(tmp_path: Path) -> AsyncIterator[str]:
    """The real app with ZENML_SERVER_API_KEY_MAX_LIFETIME_DAYS=90 on a fresh database."""
    async with serving_app(f"sqlite:///{tmp_path}/s.sqlite", api_key_max_lifetime_days=90) as url:
        yield url


def _days_ahead(days: int) -> set[str]:
    """The dates (UTC) ``days`` from now, either side of a midnight the test may cross."""
    now = datetime.now(UTC)
    return {(now + timedelta(days=days, minutes=m)).strftime("%Y-%m-%d") for m in (-5, 5)}


async def test_rotate_with_an_expiry_through_the_form(capped_url: str, page: Any) -> None:
    """With a maximum, the first key's and the rotate form's expiry fields are required and
    give the maximum; a value past it is refused on the page; 30 days typed in the key's
    row survives the confirmation page, and confirming with a retain period rotates: the
    new key is shown once, its row shows the expiry and the old key still works."""
    await _log_in(page, capped_url)
    await page.fill("#sa-name", "expiring-ci")
    await page.click("#create-account button[type=submit]")
    assert await page.locator("#sa-key-expires").evaluate("e => e.validity.valueMissing")
    assert page.url == capped_url + "/service-accounts"  # the browser did not send it
    assert "at most 90" in (await page.text_content("label[for=sa-key-expires]") or "")
    await page.fill("#sa-key-expires", "90")
    await page.click("#create-account button[type=submit]")
    await page.wait_for_url(capped_url + "/service-accounts/*")
    account_url = page.url
    first = (await page.text_content("[data-testid=new-api-key]") or "").strip()
    assert looks_like_api_key(first)
    await page.reload()

    row = page.locator('tr[data-key="default"]')
    expiry = row.locator("input[name=expires_in_days]")
    assert await expiry.get_attribute("required") is not None
    assert "at most 90" in (await row.locator(".rotate label").text_content() or "")
    await expiry.fill("91")
    await row.get_by_role("button", name="Rotate…").click()
    await page.wait_for_url(account_url)
    assert "at most 90 days" in (await page.text_content("[role=alert]") or "")
    assert await _status(capped_url, first) == 200

    row = page.locator('tr[data-key="default"]')
    await row.locator("input[name=expires_in_days]").fill("30")
    await shoot(page, "service-account-rotate-expiry")
    await row.get_by_role("button", name="Rotate…").click()
    await page.wait_for_selector("text=stop working at once")
    confirm_expiry = page.locator("#expires")
    assert await confirm_expiry.input_value() == "30"
    assert await confirm_expiry.get_attribute("required") is not None
    assert "at most 90" in (await page.text_content("label[for=expires]") or "")
    await shoot(page, "service-account-confirm-rotate-expiry")
    await confirm_expiry.fill("")
    await page.get_by_role("button", name="Rotate").click()
    assert await confirm_expiry.evaluate("e => e.validity.valueMissing")
    assert await _status(capped_url, first) == 200  # nothing was sent
    await confirm_expiry.fill("30")
    await page.fill("#retain", "5")
    await page.get_by_role("button", name="Rotate").click()
    await page.wait_for_url(account_url)

    second = (await page.text_content("[data-testid=new-api-key]") or "").strip()
    assert looks_like_api_key(second) and second != first
    assert "keeps working for 5 minutes" in (await page.text_content("[role=status]") or "")
    expires = await page.locator('tr[data-key="default"] td[data-label=Expires]').text_content()
    assert (expires or "").strip()[:10] in _days_ahead(30)
    assert await _status(capped_url, second) == 200 and await _status(capped_url, first) == 200
    await page.reload()
    assert await page.locator("[data-testid=new-api-key]").count() == 0
