"""No one can lock someone else out of password login (issue 9.3).

Addresses come from X-Forwarded-For through a trusted proxy (the test client is 127.0.0.1);
time comes from the injected clock.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from tests.builders import ADMIN_PASSWORD
from zenml_server.domain.clock import ManualClock

ATTACKER = "203.0.113.66"
ADMIN_HOME = "198.51.100.7"


async def _lockout_client(make_client: Any) -> Any:
    """The app behind a trusted proxy on loopback, so each request names its address."""
    return await make_client(trusted_proxies=(ipaddress.ip_network("127.0.0.1/32"),))


async def api_login(client: Any, password: str, ip: str, name: str = "admin") -> int:
    resp = await client.post(
        "/api/v1/login",
        data={"username": name, "password": password},
        headers={"X-Forwarded-For": ip},
    )
    status: int = resp.status
    return status


async def page_login(client: Any, password: str, ip: str) -> int:
    headers = {"X-Forwarded-For": ip}
    page = await (await client.get("/login", headers=headers)).text()
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match is not None
    resp = await client.post(
        "/login",
        data={"csrf_token": match[1], "username": "admin", "password": password},
        headers=headers,
        allow_redirects=False,
    )
    client.session.cookie_jar.clear()
    status: int = resp.status
    return status


async def test_attacker_at_full_rate_cannot_stop_admin_api_login(
    make_client: Any, clock: ManualClock
) -> None:
    """Wrong passwords for ``admin`` from one address, as fast as allowed, for ten minutes:
    the admin logs in with the API from another address at every moment."""
    client = await _lockout_client(make_client)
    refused = 0
    for second in range(0, 600, 2):
        status = await api_login(client, "wrong-password", ATTACKER)
        assert status in (400, 429)
        refused += status == 429
        if second % 60 == 0:
            assert await api_login(client, ADMIN_PASSWORD, ADMIN_HOME) == 200
        clock.advance(2)
    assert refused > 0, "the attacker's own address is limited"
    assert await api_login(client, ADMIN_PASSWORD, ADMIN_HOME) == 200


async def test_attacker_at_full_rate_cannot_stop_admin_page_login(
    make_client: Any, clock: ManualClock
) -> None:
    """The same attack through the web login page: the admin's page login still works."""
    client = await _lockout_client(make_client)
    refused = 0
    for second in range(0, 300, 2):
        status = await page_login(client, "wrong-password", ATTACKER)
        assert status in (401, 429)
        refused += status == 429
        if second % 60 == 0:
            assert await page_login(client, ADMIN_PASSWORD, ADMIN_HOME) == 303
        clock.advance(2)
    assert refused > 0
    assert await page_login(client, ADMIN_PASSWORD, ADMIN_HOME) == 303


async def test_successful_logins_do_not_count(make_client: Any, clock: ManualClock) -> None:
    """Many correct logins in a row from one address are never refused."""
    client = await _lockout_client(make_client)
    for _ in range(40):
        assert await api_login(client, ADMIN_PASSWORD, ADMIN_HOME) == 200


async def test_failures_are_limited_per_name_and_address(
    make_client: Any, clock: ManualClock
) -> None:
    """One address gets a bounded number of wrong passwords for a name, then 429 with
    Retry-After, even for the right password, until time refills the budget."""
    client = await _lockout_client(make_client)
    statuses = [await api_login(client, "wrong-password", ATTACKER) for _ in range(12)]
    assert statuses[:10] == [400] * 10 and statuses[10:] == [429, 429]
    resp = await client.post(
        "/api/v1/login",
        data={"username": "admin", "password": ADMIN_PASSWORD},
        headers={"X-Forwarded-For": ATTACKER},
    )
    assert resp.status == 429 and int(resp.headers["Retry-After"]) > 0
    clock.advance(60)
    assert await api_login(client, ADMIN_PASSWORD, ATTACKER) == 200


async def test_failures_from_many_addresses_hit_the_per_name_cap(
    make_client: Any, clock: ManualClock
) -> None:
    """A guess spread over many addresses meets the per-name cap, which refuses addresses
    that have failed, never an address that has not."""
    client = await _lockout_client(make_client)
    addresses = [f"192.0.2.{n}" for n in range(1, 101)]
    for ip in addresses:
        for _ in range(2):
            assert await api_login(client, "wrong-password", ip) == 400
    # 200 failures spent the per-name cap: a failed address is now refused for "admin" ...
    assert await api_login(client, "wrong-password", addresses[0]) == 429
    # ... while a fresh address with the right password is let in.
    assert await api_login(client, ADMIN_PASSWORD, ADMIN_HOME) == 200
