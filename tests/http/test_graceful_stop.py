"""SIGTERM on a real server process: it stops accepting, answers the request in flight with
its real answer, and exits 0."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.builders import ADMIN_PASSWORD
from tests.http.rawhttp import BOUND_SECONDS, parse, read_response, request
from tests.servers import running_server


async def test_sigterm_answers_the_request_in_flight_and_exits_0(tmp_path: Path) -> None:
    """A login whose body is still arriving when SIGTERM comes gets its token once the body
    is in, while idle connections are closed and new ones refused; the process exits 0."""
    body = urlencode({"username": "admin", "password": ADMIN_PASSWORD}).encode()
    login_head = request(
        "POST",
        "/api/v1/login",
        headers={
            "Content-Type": b"application/x-www-form-urlencoded",
            "Content-Length": str(len(body)).encode(),
            "Expect": b"100-continue",
        },
    )
    with running_server(f"sqlite:///{tmp_path}/db.sqlite", tmp_path) as server:
        port = int(server.url.rsplit(":", 1)[1])
        idle_reader, idle_writer = await asyncio.open_connection("127.0.0.1", port)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            async with asyncio.timeout(BOUND_SECONDS):
                idle_writer.write(request("GET", "/health", headers={"Connection": b"keep-alive"}))
                assert (await read_response(idle_reader)).status == 200
                # "100 Continue": the login reached its handler, which now waits for the body.
                writer.write(login_head)
                assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 100")
                writer.write(body[:10])
                await writer.drain()

                server.process.send_signal(signal.SIGTERM)
                # Draining: the idle connection is closed, a new one is refused...
                assert await idle_reader.read() == b""
                with pytest.raises(ConnectionRefusedError):
                    await asyncio.open_connection("127.0.0.1", port)
                # ...and the request in flight, its body now complete, gets its real answer.
                writer.write(body[10:])
                raw = await reader.read()
        finally:
            idle_writer.close()
            writer.close()
        resp = parse(raw)
        assert resp.status == 200, raw
        assert resp.json()["token_type"] == "bearer"
        assert resp.json()["access_token"]
        assert await asyncio.to_thread(server.process.wait, BOUND_SECONDS) == 0
    log = server.log.read_text()
    assert "Traceback" not in log and " ERROR " not in log
