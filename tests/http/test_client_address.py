"""The client's address: X-Forwarded-For walked from the right through trusted proxies only
(issue 9.5)."""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from yarl import URL

from tests.builders import make_settings
from tests.device_flow.builders import CLIENT_ID, device_id_of, page_login
from zenml_server.domain.clock import ManualClock
from zenml_server.http.app import create_app
from zenml_server.http.auth import walk_forwarded_for
from zenml_server.http.keys import STORE
from zenml_server.http.observability import ACCESS_LOG, AccessLogger
from zenml_server.storage.store import Store

NGINX = "10.0.0.2"
TRUSTED = (ipaddress.ip_network("10.0.0.2/32"), ipaddress.ip_network("192.168.0.0/16"))


@pytest.mark.parametrize(
    ("peer", "headers", "expected"),
    [
        # Not from a trusted proxy: the header is ignored.
        ("198.51.100.1", ["203.0.113.5"], "198.51.100.1"),
        # The proxy appended the client; whatever the client put before it is ignored.
        (NGINX, ["6.6.6.6, 203.0.113.5"], "203.0.113.5"),
        (NGINX, ["6.6.6.6", "203.0.113.5"], "203.0.113.5"),
        # A trusted hop (an inner proxy) is walked through; the first untrusted one is kept.
        (NGINX, ["6.6.6.6, 203.0.113.5, 192.168.1.1"], "203.0.113.5"),
        # A client that is itself trusted: the walk ends on the last hop, not the proxy.
        (NGINX, ["192.168.7.7"], "192.168.7.7"),
        # Garbage to the left of a trusted hop ends the walk on that trusted hop, not on
        # the proxy (which would collapse every such client into one address).
        (NGINX, ["not-an-address, 192.168.7.7"], "192.168.7.7"),
        (NGINX, ["192.168.7.7, , 192.168.1.1"], "192.168.1.1"),
        # Garbage right after the proxy: only the proxy is known.
        (NGINX, ["6.6.6.6, garbage"], NGINX),
        # Ports and brackets, as some proxies write them; canonical forms.
        (NGINX, ["203.0.113.5:4711"], "203.0.113.5"),
        (NGINX, ["[2001:db8::1]:443"], "2001:db8::1"),
        (NGINX, ["2001:DB8:0::1"], "2001:db8::1"),
        (NGINX, ["::ffff:203.0.113.5"], "203.0.113.5"),
        # No header: the peer.
        (NGINX, [], NGINX),
    ],
)
def test_walk_forwarded_for(peer: str, headers: list[str], expected: str) -> None:
    """Each chain walks to the address of the first hop that is not a trusted proxy."""
    assert walk_forwarded_for(peer, headers, TRUSTED) == expected


def test_a_long_chain_is_walked_only_so_far() -> None:
    """A header of thousands of trusted hops is walked a bounded number of hops."""
    chain = ", ".join(["192.168.0.1"] * 5000)
    assert walk_forwarded_for(NGINX, [chain], TRUSTED) == "192.168.0.1"


async def test_recorded_shown_and_logged_address_is_the_walked_one(
    aiohttp_client: Any, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """A device authorization records, the approval page shows and the access log writes
    the walked address, never the client-chosen left part of the header."""
    settings = make_settings(trusted_proxies=(ipaddress.ip_network("127.0.0.1/32"), TRUSTED[1]))
    server = TestServer(create_app(settings, store=store, clock=ManualClock()))
    await server.start_server(access_log_class=AccessLogger, access_log=ACCESS_LOG)
    client = await aiohttp_client(server)
    headers = {"X-Forwarded-For": "6.6.6.6, junk, 192.168.4.4"}
    with caplog.at_level(logging.INFO, logger="zenml_server.access"):
        resp = await client.post(
            "/api/v1/device_authorization", data={"client_id": CLIENT_ID}, headers=headers
        )
        # The access log line is written after the response; the next request waits for it.
        await client.get("/health")
    assert resp.status == 200
    authorization = await resp.json()
    device = await client.app[STORE].devices.get(device_id_of(authorization))
    assert device.ip_address == "192.168.4.4"
    lines = [r.getMessage() for r in caplog.records if r.name == "zenml_server.access"]
    assert any(line.startswith("192.168.4.4 POST /api/v1/device_authorization") for line in lines)
    assert not any("6.6.6.6" in line for line in lines)
    await page_login(client)
    page = await client.get(URL(authorization["verification_uri_complete"]).path_qs)
    html = await page.text()
    assert page.status == 200 and "192.168.4.4" in html and "6.6.6.6" not in html
