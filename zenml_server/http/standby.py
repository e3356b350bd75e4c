"""What a server answers while its database has not answered yet: alive, not ready.

A replica started before its database (or during an outage) serves this app on its port: 200 on
``/health`` (the process is alive, do not restart it), 503 with Retry-After on ``/ready`` and on
everything else, in the shape of each area. ``main`` swaps in the real app once the database
answers, and migrates it then.
"""

from __future__ import annotations

import itertools
import secrets

from aiohttp import web

from zenml_server.http.api.health import health
from zenml_server.http.errors import API_HEADERS, NO_STORE, OAUTH_PATHS

_RETRY = {"Retry-After": "5"}
_DETAIL = "the database is not available yet"


def create_standby_app() -> web.Application:
    prefix = secrets.token_hex(6)
    ids = itertools.count(1)

    async def unavailable(request: web.Request) -> web.Response:
        if request.path == "/ready":
            return web.json_response(
                {"status": "unavailable", "detail": _DETAIL}, status=503, headers=_RETRY
            )
        if request.path in OAUTH_PATHS:
            body = {"error": "temporarily_unavailable", "error_description": _DETAIL}
            return web.json_response(body, status=503, headers={**_RETRY, **NO_STORE})
        if request.path == "/metrics":
            text = (
                "# HELP zenml_server_database_up Whether the database answered last time.\n"
                "# TYPE zenml_server_database_up gauge\nzenml_server_database_up 0\n"
            )
            return web.Response(
                text=text, content_type="text/plain", headers={"Content-Type": _METRICS_TYPE}
            )
        request_id = f"{prefix}{next(ids):x}"
        body = {"error": "service_unavailable", "detail": _DETAIL, "request_id": request_id}
        return web.json_response(
            body, status=503, headers={**_RETRY, **API_HEADERS, "X-Request-ID": request_id}
        )

    app = web.Application()
    app.router.add_get("/health", health)
    app.router.add_route("*", "/{tail:.*}", unavailable)
    return app


_METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8"
