"""Rotating a key on its account's page with an expiry ("Expires in (days)"), as
ZENML_SERVER_API_KEY_MAX_LIFETIME_DAYS needs: the form asks for it, it survives the
confirmation step, and a bad value changes nothing."""

from __future__ import annotations

import html
import re
from typing import Any

from tests.builders import bearer
from tests.service_accounts.builders import BASE, make_account, make_key, whoami
from tests.service_accounts.test_pages import PAGE, csrf_of, secret_in, web_login
from zenml_server.domain.clock import ManualClock, isoformat
from zenml_server.http.pages.render import when_short

DAY = 86400.0
MAX_DAYS = 90
_ROTATE_FORM = re.compile(r'<form[^>]*action="[^"]*/rotate"[^>]*>(.*?)</form>', re.DOTALL)
_EXPIRY_INPUT = re.compile(r'<input[^>]*name="expires_in_days"[^>]*>')


async def _capped_key(make_client: Any, admin_token: str, clock: ManualClock) -> Any:
    """A logged-in page client on a server with a maximum key lifetime, an account ``ci`` and
    its key ``k`` (expiring in a day); returns (client, csrf, rotate path, key JSON)."""
    client = await make_client(api_key_max_lifetime_days=MAX_DAYS)
    account = await make_account(client, admin_token, "ci")
    key = await make_key(client, admin_token, "ci", "k", expires_at=isoformat(clock.now() + DAY))
    await web_login(client)
    csrf = await csrf_of(client)
    return client, csrf, f"{PAGE}/{account['id']}/api-keys/{key['id']}/rotate", key


async def _rotations(client: Any, admin_token: str) -> int:
    resp = await client.get(
        "/api/v1/audit", params={"action": "api_key.rotated"}, headers=bearer(admin_token)
    )
    assert resp.status == 200, await resp.text()
    return len((await resp.json())["items"])


async def _expiry_of(client: Any, admin_token: str) -> str | None:
    resp = await client.get(f"{BASE}/ci/api_keys/k", headers=bearer(admin_token))
    expiry: str | None = (await resp.json())["expires_at"]
    return expiry


async def _account_id(client: Any, admin_token: str) -> str:
    resp = await client.get(f"{BASE}/ci", headers=bearer(admin_token))
    account_id: str = (await resp.json())["id"]
    return account_id


def _expiry_input(form: str) -> str:
    found = _EXPIRY_INPUT.search(form)
    assert found is not None, form
    return found[0]


async def test_rotate_form_asks_for_an_expiry_within_the_maximum(
    make_client: Any, admin_token: str, clock: ManualClock
) -> None:
    """With a maximum, each key's rotate form has a required "Expires in (days)" field whose
    label gives the maximum, and so has the first key's field on the list page; without
    one, the field is optional and says empty means never."""
    client, _, _, _ = await _capped_key(make_client, admin_token, clock)
    page = await (await client.get(f"{PAGE}/{await _account_id(client, admin_token)}")).text()
    form = _ROTATE_FORM.search(page)
    assert form is not None, page
    assert "required" in _expiry_input(form[1])
    assert f"at most {MAX_DAYS}" in form[1] and "Expires in" in form[1]
    listed = await (await client.get(PAGE)).text()
    first_key = re.search(r'<input id="sa-key-expires"[^>]*>', listed)
    assert first_key is not None and "required" in first_key[0]

    open_client = await make_client()
    await make_account(open_client, admin_token, "free")
    await make_key(open_client, admin_token, "free", "k")
    await web_login(open_client)
    accounts = await (await open_client.get(f"{BASE}/free", headers=bearer(admin_token))).json()
    page = await (await open_client.get(f"{PAGE}/{accounts['id']}")).text()
    form = _ROTATE_FORM.search(page)
    assert form is not None
    assert "required" not in _expiry_input(form[1]) and "empty: never" in form[1]
    listed = await (await open_client.get(PAGE)).text()
    first_key = re.search(r'<input id="sa-key-expires"[^>]*>', listed)
    assert first_key is not None and "required" not in first_key[0]


async def test_rotate_with_an_expiry_under_the_maximum(
    make_client: Any, admin_token: str, clock: ManualClock
) -> None:
    """With a maximum, rotating on the page with a retain period and 30 days gives the new
    key that expiry (shown in its row), shows the key once, and the old key keeps working
    for the retain period only."""
    client, csrf, path, key = await _capped_key(make_client, admin_token, clock)
    data = {"csrf_token": csrf, "retain_period_minutes": "5", "expires_in_days": "30"}
    resp = await client.post(path, data=data, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    landed = await (await client.get(resp.headers["Location"])).text()
    new = secret_in(landed)
    assert new is not None and new != key["key"]
    assert "keeps working for 5 minutes" in landed
    expiry = clock.now() + 30 * DAY
    assert await _expiry_of(client, admin_token) == isoformat(expiry)
    row = re.search(r'<tr data-key="k">(.*?)</tr>', landed, re.DOTALL)
    assert row is not None and when_short(expiry) in row[1]
    assert await whoami(client, new) == 200 and await whoami(client, key["key"]) == 200
    again = await (await client.get(resp.headers["Location"])).text()
    assert secret_in(again) is None  # shown once
    clock.advance(5 * 60)
    assert await whoami(client, key["key"]) == 401 and await whoami(client, new) == 200
    assert await _rotations(client, admin_token) == 1


async def test_the_expiry_survives_the_confirmation_step(
    make_client: Any, admin_token: str, clock: ManualClock
) -> None:
    """Rotating with 0 minutes asks first; the confirmation form carries the expiry given
    (required, with the maximum in its label) and nothing changes until it comes back."""
    client, csrf, path, key = await _capped_key(make_client, admin_token, clock)
    asked = await client.post(path, data={"csrf_token": csrf, "expires_in_days": "30"})
    page = await asked.text()
    assert asked.status == 200 and 'name="confirmed" value="yes"' in page
    field = _expiry_input(page)
    assert 'value="30"' in field and "required" in field
    assert f"at most {MAX_DAYS}" in page
    assert await whoami(client, key["key"]) == 200
    assert await _rotations(client, admin_token) == 0
    # What the browser sends back from that form.
    form = re.search(r'<form method="post" action="([^"]+)">(.*?)</form>', page, re.DOTALL)
    assert form is not None
    sent = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form[2]))
    assert sent["expires_in_days"] == "30" and sent["confirmed"] == "yes"
    sent = {k: html.unescape(v) for k, v in sent.items()}
    done = await client.post(html.unescape(form[1]), data=sent, allow_redirects=False)
    assert done.status == 303, await done.text()
    landed = await (await client.get(done.headers["Location"])).text()
    new = secret_in(landed)
    assert new is not None and await whoami(client, new) == 200
    assert await whoami(client, key["key"]) == 401
    assert await _expiry_of(client, admin_token) == isoformat(clock.now() + 30 * DAY)


async def test_a_bad_expiry_on_rotate_changes_nothing(
    make_client: Any, admin_token: str, clock: ManualClock
) -> None:
    """With a maximum, a missing, malformed, zero, too long or absurd expiry is refused with
    the reason on the page, whether sent with a retain period, to be confirmed or confirmed:
    no confirmation asked, no key issued, the old key works, its expiry and the audit trail
    are unchanged."""
    client, csrf, path, key = await _capped_key(make_client, admin_token, clock)
    before = await _expiry_of(client, admin_token)
    reasons = {
        "": f"must expire within {MAX_DAYS} days",
        "x": "whole number of days",
        "0": "whole number of days",
        "-1": "whole number of days",
        "1.5": "whole number of days",
        "²": "whole number of days",
        "٣": "whole number of days",
        "91": f"at most {MAX_DAYS} days",
        "36501": f"at most {MAX_DAYS} days",
        "9" * 5000: f"at most {MAX_DAYS} days",
    }
    steps = (
        {"retain_period_minutes": "5"},
        {},
        {"confirmed": "yes", "retain_period_minutes": "0"},
    )
    for bad, reason in reasons.items():
        for step in steps:
            data = {"csrf_token": csrf, "expires_in_days": bad, **step}
            resp = await client.post(path, data=data)
            page = await resp.text()
            assert resp.status == 200, (bad, step, page)
            assert 'class="error"' in page and reason in page, (bad, step)
            assert 'name="confirmed"' not in page and secret_in(page) is None, (bad, step)
    assert await whoami(client, key["key"]) == 200
    assert await _expiry_of(client, admin_token) == before
    assert await _rotations(client, admin_token) == 0


async def test_rotate_without_a_maximum_keeps_an_empty_expiry_optional(
    client: Any, admin_token: str, clock: ManualClock
) -> None:
    """Without a maximum, rotating on the page with the field empty gives a key that never
    expires, and a number of days gives it that expiry."""
    account = await make_account(client, admin_token, "ci")
    key = await make_key(client, admin_token, "ci", "k", expires_at=isoformat(clock.now() + DAY))
    await web_login(client)
    csrf = await csrf_of(client)
    path = f"{PAGE}/{account['id']}/api-keys/{key['id']}/rotate"
    data = {"csrf_token": csrf, "retain_period_minutes": "1", "expires_in_days": ""}
    resp = await client.post(path, data=data)
    assert secret_in(await resp.text()) is not None
    assert await _expiry_of(client, admin_token) is None
    data = {"csrf_token": csrf, "retain_period_minutes": "1", "expires_in_days": "400"}
    resp = await client.post(path, data=data)
    assert secret_in(await resp.text()) is not None
    assert await _expiry_of(client, admin_token) == isoformat(clock.now() + 400 * DAY)
