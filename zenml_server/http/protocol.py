"""aiohttp's runner with one change to how a connection answers requests that aiohttp's own
parser refuses (``http/serving.py`` runs the app with it).

Such a request (a malformed request line or header) never reaches the app's middleware:
aiohttp logs it at ERROR with the raw bytes, which can hold a user code from a query string
or the start of a bearer token, and echoes those bytes in its 400 body. Here it is logged as
one WARNING naming only the kind of error, and answered in the API's JSON error shape.
"""

from __future__ import annotations

import logging
import secrets

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestHandler

from zenml_server.http.errors import API_HEADERS

log = logging.getLogger("zenml_server.http")


class _RequestHandler(RequestHandler):
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
    """``web.AppRunner`` whose connections answer unparseable requests as described above."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        return _Server(
            server.request_handler,
            request_factory=server.request_factory,
            handler_cancellation=server.handler_cancellation,
            loop=server._loop,
            **server._kwargs,
        )
