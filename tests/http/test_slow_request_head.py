"""Clients that send their request head slowly (slowloris): a head that does not arrive in full
within ZENML_SERVER_REQUEST_HEADER_TIMEOUT_SECONDS is answered 408 and its connection closed,
without holding the connection or echoing its bytes. Real sockets against a real server; the
timeouts are fractions of a second, set through settings."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from tests.http.rawhttp import (
    BOUND_SECONDS,
    RawResponse,
    exchange,
    parse,
    read_response,
    request,
)
from tests.servers import serving_app

SECRET = b"Bearer eyJhbGciOiJIUzI1NiJ9.slow-secret-part"
# The start of a request whose head never ends: after these lines one header value grows a
# byte at a time, far below aiohttp's line limit for as long as the test runs.
NEVER_ENDING_HEAD = (
    b"GET /api/v1/current-user HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: "
    + SECRET
    + b"\r\nX-Slow: "
)
# How long the slow client waits between bytes: many bytes arrive within each head timeout.
TRICKLE_SECONDS = 0.02


@asynccontextmanager
async def _server(tmp_path: Path, **overrides: object) -> AsyncIterator[int]:
    """A real server (the production Runner on a real socket) with these settings; its port."""
    async with serving_app(f"sqlite:///{tmp_path}/db.sqlite", **overrides) as url:
        yield int(url.rsplit(":", 1)[1])


async def _trickle(port: int, data: bytes, then: bytes | None = b"a") -> bytes:
    """Send ``data`` a byte at a time, then ``then`` forever (or nothing more when None),
    until the server closes the connection; what the server answered."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    answer = asyncio.ensure_future(reader.read())
    tail = itertools.repeat(then) if then is not None else ()
    try:
        async with asyncio.timeout(BOUND_SECONDS):
            for byte in itertools.chain((data[i : i + 1] for i in range(len(data))), tail):
                if answer.done():
                    break
                try:
                    writer.write(byte)
                    await writer.drain()
                except ConnectionError:
                    break  # closed by the server while this byte was on its way
                await asyncio.wait({answer}, timeout=TRICKLE_SECONDS)
            return await answer
    finally:
        answer.cancel()
        writer.close()


def _assert_head_timeout(raw: bytes) -> RawResponse:
    resp = parse(raw)
    assert resp.status == 408
    assert resp.headers["connection"] == "close"
    assert resp.headers["cache-control"] == "no-store"
    assert resp.json()["error"] == "request_timeout"
    assert b"eyJ" not in raw and b"X-Slow" not in raw
    return resp


async def test_slow_heads_are_answered_408_and_closed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Twenty connections trickling a head that never ends are each answered 408 and closed
    within the head timeout; each is logged once, as a WARNING without its bytes."""
    async with _server(tmp_path, request_header_timeout_seconds=0.3) as port:
        with caplog.at_level(logging.INFO, logger="zenml_server"):
            answers = await asyncio.gather(*(_trickle(port, NEVER_ENDING_HEAD) for _ in range(20)))
        # The server still answers everyone else.
        assert (await exchange(port, request("GET", "/health"))).status == 200
    for raw in answers:
        _assert_head_timeout(raw)
    timed_out = [r for r in caplog.records if "request head" in r.getMessage()]
    assert len(timed_out) == 20
    assert {r.levelno for r in timed_out} == {logging.WARNING}
    assert "eyJ" not in caplog.text and "X-Slow" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_connection_that_sends_nothing_is_closed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A connection that never sends a byte is closed after the head timeout, silently (a
    browser's unused preconnection gets no unasked-for response), logged once at INFO."""
    async with _server(tmp_path, request_header_timeout_seconds=0.3) as port:
        with caplog.at_level(logging.INFO, logger="zenml_server"):
            answers = await asyncio.gather(*(_trickle(port, b"", then=None) for _ in range(5)))
    assert answers == [b""] * 5
    closed = [r for r in caplog.records if "request head" in r.getMessage()]
    assert [r.levelno for r in closed] == [logging.INFO] * 5


async def test_slow_head_that_finishes_in_time_is_served(tmp_path: Path) -> None:
    """A head that arrives a byte at a time but in full within the timeout is served."""
    async with _server(tmp_path, request_header_timeout_seconds=5.0) as port:
        raw = await _trickle(port, request("GET", "/health"), then=None)
    assert parse(raw).status == 200


async def test_idle_keep_alive_connection_outlives_the_head_timeout(tmp_path: Path) -> None:
    """A keep-alive connection idle between requests for longer than the head timeout stays
    open for its next request (idleness is the keep-alive timeout's business)."""
    keep_alive = request("GET", "/health", headers={"Connection": b"keep-alive"})
    async with _server(tmp_path, request_header_timeout_seconds=0.3) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            async with asyncio.timeout(BOUND_SECONDS):
                writer.write(keep_alive)
                assert (await read_response(reader)).status == 200
                # Another connection's head timer started after that answer and has run
                # out: this connection has now been idle for longer than the head timeout.
                _assert_head_timeout(await _trickle(port, NEVER_ENDING_HEAD))
                writer.write(keep_alive)
                second = await read_response(reader)
        finally:
            writer.close()
    assert second.status == 200


async def test_idle_keep_alive_connection_is_closed_after_the_keep_alive_timeout(
    tmp_path: Path,
) -> None:
    """One quick request and then silence does not hold a connection either: an idle
    keep-alive connection is closed after ZENML_SERVER_KEEPALIVE_TIMEOUT_SECONDS."""
    keep_alive = request("GET", "/health", headers={"Connection": b"keep-alive"})
    async with _server(tmp_path, keepalive_timeout_seconds=0.3) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            async with asyncio.timeout(BOUND_SECONDS):
                writer.write(keep_alive)
                assert (await read_response(reader)).status == 200
                assert await reader.read() == b""
        finally:
            writer.close()


async def test_slow_body_is_the_body_timeouts_business(tmp_path: Path) -> None:
    """Once the head is in, a body that stops is answered by the body timeout (the form's
    408 ``invalid_request``), not cut off by the head timeout."""
    head = request(
        "POST",
        "/api/v1/login",
        headers={
            "Content-Type": b"application/x-www-form-urlencoded",
            "Content-Length": b"1000",
        },
    )
    timeouts = {"request_header_timeout_seconds": 0.2, "request_body_timeout_seconds": 0.6}
    async with _server(tmp_path, **timeouts) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(head + b"username=a")
            resp = await asyncio.wait_for(read_response(reader), BOUND_SECONDS)
            # The rest, so that aiohttp's lingering close (reading an unread body) ends now.
            writer.write(b"x" * 990)
            assert await asyncio.wait_for(reader.read(), BOUND_SECONDS) == b""
        finally:
            writer.close()
    assert resp.status == 408
    assert resp.json()["error"] == "invalid_request"
