"""Requests no client library sends: bytes that are not UTF-8 in headers and cookies, broken
Host headers, bodies that stop or never finish, HTTP the parser refuses. A 4xx, never a 500."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

from tests.http.rawhttp import BOUND_SECONDS, exchange, parse, request
from tests.servers import running_server, serving_app
from tests.service_accounts.test_pages import web_login
from zenml_server.http.keys import METRICS
from zenml_server.storage.store import Store

FORM = b"application/x-www-form-urlencoded"


async def _device_rows(store: Store) -> int:
    return int(await store.db.fetchval("SELECT COUNT(*) FROM devices"))


async def test_bearer_that_is_not_utf8_is_401(client: Any) -> None:
    """An Authorization header with a byte that is not UTF-8 answers 401, never a 500."""
    resp = await exchange(
        client.port,
        request("GET", "/api/v1/current-user", headers={"Authorization": b"Bearer \xff"}),
    )
    assert resp.status == 401
    assert resp.json()["error"] == "unauthorized"


@pytest.mark.parametrize(
    ("path", "cookie"),
    [
        ("/login", b"zenml_csrf=\xff"),
        ("/devices", b"zenml_session=\xff"),
        ("/devices/verify", b"zenml_session=\xff; zenml_csrf=\xff"),
    ],
)
async def test_cookie_that_is_not_utf8_is_ignored(client: Any, path: str, cookie: bytes) -> None:
    """A session or CSRF cookie with a byte that is not UTF-8 is ignored like a missing one."""
    resp = await exchange(client.port, request("GET", path, headers={"Cookie": cookie}))
    assert resp.status in (200, 303)


async def test_csrf_cookie_that_is_not_utf8_fails_the_form_not_the_server(client: Any) -> None:
    """A login form post whose CSRF cookie is not UTF-8 answers 403, never a 500."""
    body = b"csrf_token=x&username=admin&password=x"
    resp = await exchange(
        client.port,
        request(
            "POST",
            "/login",
            headers={"Cookie": b"zenml_csrf=\xff", "Content-Type": FORM},
            body=body,
        ),
    )
    assert resp.status == 403


BAD_HOSTS = [b"127.0.0.1:99999", b"[", b"::::", b""]


@pytest.mark.parametrize("host", BAD_HOSTS, ids=["port", "bracket", "colons", "empty"])
async def test_bad_host_on_discovery_is_400(client: Any, host: bytes) -> None:
    """With ZENML_SERVER_URL unset, a Host header that is no host answers 400, never a 500."""
    resp = await exchange(
        client.port,
        request("GET", "/.well-known/oauth-authorization-server", headers={"Host": host}),
    )
    assert resp.status == 400
    assert resp.json()["error"] == "bad_request"


@pytest.mark.parametrize("host", BAD_HOSTS, ids=["port", "bracket", "colons", "empty"])
async def test_bad_host_on_device_authorization_writes_nothing(
    client: Any, store: Store, host: bytes
) -> None:
    """A bad Host header on /device_authorization answers invalid_request before any row."""
    before = await _device_rows(store)
    body = b"client_id=2b5d9f4e-53ac-4f59-9f5b-3c1f2b1f0c11"
    resp = await exchange(
        client.port,
        request(
            "POST",
            "/api/v1/device_authorization",
            headers={"Host": host, "Content-Type": FORM},
            body=body,
        ),
    )
    assert resp.status == 400
    assert resp.json()["error"] == "invalid_request"
    assert await _device_rows(store) == before


async def test_good_host_still_makes_the_urls(client: Any) -> None:
    """A well-formed Host (name, IPv4 or IPv6, with a port) still builds the public URLs."""
    for host in (b"auth.example.com:8443", b"[::1]:8080", b"10.0.0.1"):
        resp = await exchange(
            client.port,
            request("GET", "/.well-known/oauth-authorization-server", headers={"Host": host}),
        )
        assert resp.status == 200
        assert resp.json()["token_endpoint"] == f"http://{host.decode()}/api/v1/login"


class _Records(logging.Handler):
    """Collects records of one logger and signals when a wanted message arrives."""

    def __init__(self, wanted: str) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.seen = asyncio.Event()
        self._wanted = wanted

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        if self._wanted in record.getMessage():
            self.seen.set()


async def test_client_closing_mid_body_is_not_a_server_error(tmp_path: Path) -> None:
    """A client that hangs up mid-body is logged as such, not as an error, nor counted as 500.
    (A real server: the test client cancels handlers on disconnect, production does not.)"""
    records = _Records("closed the connection")
    logger = logging.getLogger("zenml_server")
    logger.addHandler(records)
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        async with serving_app(f"sqlite:///{tmp_path}/db.sqlite") as url:
            port = int(url.rsplit(":", 1)[1])
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            head = request(
                "POST",
                "/api/v1/login",
                headers={
                    "Content-Type": FORM,
                    "Content-Length": b"1000",
                    "Expect": b"100-continue",
                },
            )
            writer.write(head)
            await writer.drain()
            # "100 Continue": the request reached the app. Send part of the body, hang up.
            continued = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), BOUND_SECONDS)
            assert continued.startswith(b"HTTP/1.1 100")
            writer.write(b"username=a")
            await writer.drain()
            writer.close()
            await asyncio.wait_for(records.seen.wait(), BOUND_SECONDS)
            metrics = await exchange(port, request("GET", "/metrics"))
    finally:
        logger.removeHandler(records)
        logger.setLevel(previous)
    assert not [r for r in records.records if r.levelno >= logging.ERROR]
    server_errors = [
        line
        for line in metrics.body.decode().splitlines()
        if not line.startswith("#")
        and ('code="5' in line or 'class="5xx"' in line)
        and not line.endswith(" 0")
    ]
    assert server_errors == []


async def test_body_that_never_finishes_times_out(make_client: Any) -> None:
    """A body that stops arriving gets a 408 (or a close) within the body timeout, so
    stalled clients cannot hold connections."""
    client = await make_client(request_body_timeout_seconds=0.2)
    head = request(
        "POST", "/api/v1/login", headers={"Content-Type": FORM, "Content-Length": b"1000"}
    )

    async def stalled() -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
        try:
            writer.write(head + b"username=a")
            await writer.drain()
            return await asyncio.wait_for(reader.read(), BOUND_SECONDS)
        finally:
            writer.close()

    answers = await asyncio.gather(*(stalled() for _ in range(20)))
    for raw in answers:
        if raw:
            resp = parse(raw)
            assert resp.status == 408
            assert resp.json()["error"] == "invalid_request"
    assert client.app[METRICS].by_class()[5] == 0


async def test_body_timeout_on_the_api_is_408(make_client: Any, admin_token: str) -> None:
    """A JSON body that never finishes answers 408 in the API error shape."""
    client = await make_client(request_body_timeout_seconds=0.2)
    head = request(
        "POST",
        "/api/v1/users",
        headers={
            "Content-Type": b"application/json",
            "Content-Length": b"1000",
            "Authorization": b"Bearer " + admin_token.encode(),
        },
    )
    reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
    try:
        writer.write(head + b'{"name": ')
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), BOUND_SECONDS)
    finally:
        writer.close()
    resp = parse(raw)
    assert resp.status == 408
    assert resp.json()["error"] == "request_timeout"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/api/v1/info", "GET"),
        ("GET", "/api/v1/login", "POST"),
        ("PUT", "/login", "POST"),
    ],
)
async def test_405_says_what_is_allowed(client: Any, method: str, path: str, allowed: str) -> None:
    """Every 405 carries an Allow header naming the methods the path takes."""
    resp = await client.request(method, path)
    assert resp.status == 405
    assert allowed in {m.strip() for m in resp.headers["Allow"].split(",")}


USER_CODE = "BCDF-GHJK"
BEARER = b"eyJhbGciOiJIUzI1NiJ9.secret-part"


def test_parser_errors_are_warnings_without_the_request(tmp_path: Path) -> None:
    """A request aiohttp cannot parse is logged as a WARNING naming neither the request line
    nor header bytes, and the 400 body echoes neither."""
    bad_requests = [
        f"GET /devices/verify?user_code={USER_CODE} HTTP/1.1 x\r\nHost: a\r\n\r\n".encode(),
        b"GET /api/v1/info HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer "
        + BEARER
        + b"\x01\r\n\r\n",
    ]
    with running_server(f"sqlite:///{tmp_path}/db.sqlite", tmp_path) as server:
        port = int(server.url.rsplit(":", 1)[1])
        for data in bad_requests:
            resp = asyncio.run(exchange(port, data))
            assert resp.status == 400
            assert USER_CODE.encode() not in resp.body and b"eyJ" not in resp.body
            assert resp.json()["error"] == "bad_request"
        server.process.terminate()
        server.process.wait(timeout=BOUND_SECONDS)
    log = server.log.read_text()
    assert USER_CODE not in log and "eyJ" not in log
    assert "Traceback" not in log and " ERROR " not in log
    assert log.count(" WARNING ") >= len(bad_requests)


async def test_405_lists_only_the_matching_route(client: Any) -> None:
    """A 405 on /api/v1/devices/verify allows exactly what the document lists for it (POST),
    not the methods of /api/v1/devices/{device_id} that the same URL also matches."""
    resp = await client.request("OPTIONS", "/api/v1/devices/verify")
    assert resp.status == 405
    assert {m.strip() for m in resp.headers["Allow"].split(",")} == {"POST"}


@pytest.mark.parametrize("path", ["/devices?page=²", "/service-accounts?page=٣"])
async def test_page_numbers_on_pages_take_ascii_digits_only(client: Any, path: str) -> None:
    """A page number in digits that are not ASCII on a web page is page 1, never a 500."""
    await web_login(client)
    resp = await client.get(path, allow_redirects=False)
    assert resp.status == 200
