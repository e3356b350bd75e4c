"""The access log, without query strings (they can hold user codes). /metrics: metrics.py."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from zenml_server.http.auth import client_ip
from zenml_server.http.keys import REQUEST_ID

ACCESS_LOG = logging.getLogger("zenml_server.access")


class AccessLogger(AbstractAccessLogger):
    """One line per request: method, path, status, duration, request id. Never the query
    string or any header, so no code, token or key reaches the log."""

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        if isinstance(request, web.Request) and REQUEST_ID in request:
            request_id, address = request[REQUEST_ID], client_ip(request)
        else:
            # Never routed (aiohttp refused it as not valid HTTP): no app, no proxy settings.
            request_id, address = "-", request.remote or "-"
        self.logger.info(
            "%s %s %s %.1fms %s %s",
            address,
            request.method,
            request.path,
            time * 1000,
            response.status,
            request_id,
        )
