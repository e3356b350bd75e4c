"""Serving the app: aiohttp's runner, with one change to how a connection answers requests
that aiohttp's own parser refuses.

Such a request (a malformed request line or header) never reaches the app's middleware:
aiohttp logs it at ERROR with the raw bytes, which can hold a user code from a query string
or the start of a bearer token, and echoes those bytes in its 400 body. Here it is logged as
one WARNING naming only the kind of error, and answered in the API's JSON error shape.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
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


def run(
    app: web.Application,
    *,
    host: str,
    port: int,
    access_log: logging.Logger,
    access_log_class: type[AbstractAccessLogger],
) -> None:
    """Serve ``app`` until SIGINT or SIGTERM, then shut down gracefully: ``web.run_app``
    with ``Runner``. Raises OSError when the address cannot be bound."""

    async def serve() -> None:
        runner = Runner(
            app, handle_signals=True, access_log=access_log, access_log_class=access_log_class
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
            await asyncio.Event().wait()  # until a signal raises GracefulExit
        finally:
            await runner.cleanup()

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    main = loop.create_task(serve())
    try:
        loop.run_until_complete(main)
    except (web.GracefulExit, KeyboardInterrupt):
        pass
    finally:
        if not main.done():
            main.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                loop.run_until_complete(main)
        _cancel_all(loop)
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def _cancel_all(loop: asyncio.AbstractEventLoop) -> None:
    tasks = asyncio.all_tasks(loop)
    for task in tasks:
        task.cancel()
    if tasks:
        results: list[Any] = loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        del results
