"""The access log (without query strings: they can hold user codes) and /metrics."""

from __future__ import annotations

import itertools
import logging
import secrets
import time

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from zenml_server.http.auth import client_ip
from zenml_server.http.keys import METRICS, REQUEST_ID, SERVICES, STORE

ACCESS_LOG = logging.getLogger("zenml_server.access")


class AccessLogger(AbstractAccessLogger):
    """One line per request: method, path, status, duration, request id. Never the query
    string or any header, so no code, token or key reaches the log."""

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        if isinstance(request, web.Request):
            request_id, address = request.get(REQUEST_ID, "-"), client_ip(request)
        else:
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


class Metrics:
    """Counters kept per process; cheap enough to update on every request."""

    def __init__(self) -> None:
        self.started = time.time()
        self.responses = [0, 0, 0, 0, 0, 0]  # by status class: 0xx (unused) .. 5xx
        # Request ids: a random prefix per process and a counter, unique across replicas
        # and far cheaper than a UUID per request.
        self._id_prefix = secrets.token_hex(6)
        self._ids = itertools.count(1)

    def next_request_id(self) -> str:
        return f"{self._id_prefix}{next(self._ids):x}"

    def count(self, status: int) -> None:
        self.responses[min(status // 100, 5)] += 1


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text format: responses by status class, caches, uptime, database engine."""
    counters = request.app[METRICS]
    services = request.app[SERVICES]
    lines = [
        "# HELP zenml_server_responses_total Responses sent, by status class.",
        "# TYPE zenml_server_responses_total counter",
    ]
    for klass in range(1, 6):
        lines.append(
            f'zenml_server_responses_total{{class="{klass}xx"}} {counters.responses[klass]}'
        )
    lines += [
        "# HELP zenml_server_credential_cache_entries Credential states cached in this process.",
        "# TYPE zenml_server_credential_cache_entries gauge",
        f"zenml_server_credential_cache_entries {len(services.wiring.revocations.cache)}",
        "# HELP zenml_server_uptime_seconds Seconds since this process started.",
        "# TYPE zenml_server_uptime_seconds gauge",
        f"zenml_server_uptime_seconds {time.time() - counters.started:.0f}",
        "# HELP zenml_server_info The server's version and database engine.",
        "# TYPE zenml_server_info gauge",
        f'zenml_server_info{{version="{services.version}",'
        f'database="{request.app[STORE].db.dialect}"}} 1',
    ]
    return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")


def setup(app: web.Application) -> None:
    app[METRICS] = Metrics()
    app.router.add_get("/metrics", metrics)
