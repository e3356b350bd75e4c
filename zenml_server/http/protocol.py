"""How each connection reads requests: aiohttp's runner with three changes
(``http/serving.py`` runs the app with it).

- A request aiohttp's parser refuses (a malformed request line or header) never reaches the
  app's middleware: aiohttp logs it at ERROR with the raw bytes, which can hold a user code from
  a query string or the start of a bearer token, and echoes those bytes in its 400 body. Here it
  is logged as one WARNING naming only the kind of error, and answered in the API's JSON error
  shape.
- The request head (request line and headers) must arrive in full within ``head_timeout``
  seconds of the connection opening, or of the first byte after the previous answer (an idle
  keep-alive connection is the keep-alive timeout's business). aiohttp has no such bound: a
  client trickling a head a byte at a time (slowloris) held its connection for as long as it
  liked. A head that has begun is answered 408 in the API's JSON shape; a connection that sent
  nothing is closed without an answer (a browser's unused preconnection must not find an
  answer it did not ask for). Either is logged once, without the bytes. The body has its own
  timeout (``http/forms.py``).
- While the server stops, aiohttp marks every connection closing and from then on drops what
  arrives on it, so a request in flight whose body was still arriving waited out the body
  timeout and got 408 instead of its answer. Here such a request still receives its body.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.streams import StreamReader
from aiohttp.web_protocol import RequestHandler

from zenml_server.http.errors import API_HEADERS

log = logging.getLogger("zenml_server.http")


# After a 408 for a head that did not arrive in time, how long the connection goes on
# reading (and dropping) what the client sends before it is closed.
_LINGER_SECONDS = 1.0


def _head_timeout_answer() -> bytes:
    """The 408 for a request head that did not arrive in time, in the API's error shape."""
    body = json.dumps(
        {
            "error": "request_timeout",
            "detail": "the request head did not arrive in time",
            "request_id": secrets.token_hex(7),
        }
    ).encode()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Content-Length": str(len(body)),
        "Connection": "close",
        **API_HEADERS,
    }
    head = "HTTP/1.1 408 Request Timeout\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in headers.items()
    )
    return head.encode() + b"\r\n" + body


class _RequestHandler(RequestHandler):
    def __init__(self, manager: Any, *, head_timeout: float, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._head_timeout = head_timeout
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_begun = False
        self._head_expired = False
        self._payload: StreamReader | None = None  # the body of the latest request

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._start_head_timer(begun=False)

    def connection_lost(self, exc: BaseException | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._head_expired:
            return  # answered 408 (or closed): the rest of that head is not read
        if (self._close or self._force_close) and self._body_in_flight():
            # Stopping: the request in flight still gets its body, then its answer.
            close, force_close = self._close, self._force_close
            self._close = self._force_close = False
            try:
                super().data_received(data)
            finally:
                self._close, self._force_close = close, force_close
            return
        count = self._request_count
        super().data_received(data)
        if self._request_count != count:  # a head arrived in full
            self._stop_head_timer()
            self._payload = self._messages[-1][1] if self._messages else None
        elif data and self._reading_head():
            if self._head_timer is None:
                self._start_head_timer(begun=True)
            self._head_begun = True

    def _reading_head(self) -> bool:
        """Whether bytes arriving now belong to a request head (not to a body, nor to a
        connection taken over by another protocol)."""
        if self._upgraded or self._payload_parser is not None:
            return False
        return self._payload is None or self._payload.is_eof()

    def _body_in_flight(self) -> bool:
        return (
            self.transport is not None
            and self._request_in_progress
            and self._payload is not None
            and not self._payload.is_eof()
        )

    def _start_head_timer(self, *, begun: bool) -> None:
        self._head_begun = begun
        self._head_timer = self._loop.call_later(self._head_timeout, self._head_timed_out)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._close or self._force_close or self.transport is None:
            return
        if self._request_in_progress or self._messages or self._buffer_paused:
            # Pipelined bytes wait on this server, not on the client: no timeout. The next
            # byte to arrive starts a new timer.
            return
        self._head_expired = True
        peer = self.transport.get_extra_info("peername")
        address = peer[0] if isinstance(peer, tuple) else peer
        if not self._head_begun:
            log.info(
                "closed a connection from %s that sent no request head within %g s",
                address,
                self._head_timeout,
            )
            self.force_close()
            return
        log.warning(
            "answered 408 to %s: its request head did not arrive in full within %g s",
            address,
            self._head_timeout,
        )
        # Written here rather than through aiohttp's error path, which closes the socket
        # right after the answer: a close with the client's latest bytes still unread resets
        # the connection, and the client can lose the answer. Instead the answer is followed
        # by a FIN, and what arrives is read and dropped until the client closes or
        # _LINGER_SECONDS pass.
        self.transport.write(_head_timeout_answer())
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self._head_timer = self._loop.call_later(_LINGER_SECONDS, self.force_close)

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if not isinstance(exc, HttpProcessingError) or not 400 <= status < 500:
            return super().handle_error(request, status, exc, message)
        log.warning(
            "refused a request that is not valid HTTP from %s (%s)",
            request.remote,
            type(exc).__name__,
        )
        body = {
            "error": "bad_request",
            "detail": "the request is not valid HTTP",
            "request_id": secrets.token_hex(7),
        }
        response = web.json_response(body, status=status, headers=API_HEADERS)
        response.force_close()
        return response


class _Server(web.Server):
    def __call__(self) -> RequestHandler:
        return _RequestHandler(self, loop=self._loop, **self._kwargs)


class Runner(web.AppRunner):
    """``web.AppRunner`` whose connections behave as described above. ``head_timeout`` is
    ZENML_SERVER_REQUEST_HEADER_TIMEOUT_SECONDS; ``keepalive_timeout``,
    ZENML_SERVER_KEEPALIVE_TIMEOUT_SECONDS, is how long a connection may sit idle between
    requests (aiohttp's own default, an hour, let one quick request hold a connection that
    long)."""

    def __init__(
        self,
        app: web.Application,
        *,
        head_timeout: float,
        keepalive_timeout: float,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            app, head_timeout=head_timeout, keepalive_timeout=keepalive_timeout, **kwargs
        )

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        return _Server(
            server.request_handler,
            request_factory=server.request_factory,
            handler_cancellation=server.handler_cancellation,
            loop=server._loop,
            **server._kwargs,
        )
