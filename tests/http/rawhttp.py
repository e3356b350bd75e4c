"""Raw HTTP/1.1 over a socket, for requests no well-behaved client library will send
(bytes that are not UTF-8 in headers, broken Host headers, bodies that never finish)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

# Generous: the server answers well within it even on a busy 2-core machine.
BOUND_SECONDS = 30.0


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def request(
    method: str, path: str, *, headers: dict[str, bytes] | None = None, body: bytes = b""
) -> bytes:
    """The bytes of one request; header values are sent exactly as given."""
    lines = [f"{method} {path} HTTP/1.1".encode()]
    sent = {"Host": b"127.0.0.1", "Connection": b"close", **(headers or {})}
    if body and "Content-Length" not in sent:
        sent["Content-Length"] = str(len(body)).encode()
    lines += [name.encode() + b": " + value for name, value in sent.items()]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def parse(raw: bytes) -> RawResponse:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return RawResponse(int(status_line.split()[1]), headers, body)


async def exchange(port: int, data: bytes) -> RawResponse:
    """Send ``data`` to 127.0.0.1:``port``; read the answer until the server closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), BOUND_SECONDS)
    finally:
        writer.close()
    return parse(raw)


async def read_response(reader: asyncio.StreamReader) -> RawResponse:
    """One response with a Content-Length body, leaving the connection open."""
    head = await reader.readuntil(b"\r\n\r\n")
    resp = parse(head)
    body = await reader.readexactly(int(resp.headers["content-length"]))
    return RawResponse(resp.status, resp.headers, body)
