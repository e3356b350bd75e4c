"""Per-process metrics and ``GET /metrics`` in the Prometheus text format (version 0.0.4).

The request path costs a few dict lookups and integer additions per request (the request
middleware times every request by route template and status); everything else is read when
/metrics is scraped, from counters the services keep in memory. Nothing here touches the
database.
"""

from __future__ import annotations

import bisect
import itertools
import secrets
import time

from aiohttp import web

from zenml_server.http.keys import METRICS, SERVICES, STORE

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Latency buckets in seconds (upper bounds; +Inf is implied).
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UNMATCHED = "unmatched"
# nginx's code for a request whose client went away before the answer.
CLIENT_CLOSED = 499


class _Histogram:
    __slots__ = ("buckets", "count", "sum")

    def __init__(self) -> None:
        self.buckets = [0] * (len(BUCKETS) + 1)
        self.count = 0
        self.sum = 0.0

    def observe(self, seconds: float) -> None:
        self.buckets[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.count += 1
        self.sum += seconds


class Metrics:
    """Counters kept per process; cheap enough to update on every request."""

    def __init__(self) -> None:
        self.started = time.time()
        self.requests: dict[tuple[str, str, int], int] = {}  # (method, route, status)
        self.latency: dict[str, _Histogram] = {}  # route -> histogram
        # Request ids: a random prefix per process and a counter, unique across replicas
        # and far cheaper than a UUID per request.
        self._id_prefix = secrets.token_hex(6)
        self._ids = itertools.count(1)

    def next_request_id(self) -> str:
        return f"{self._id_prefix}{next(self._ids):x}"

    def by_class(self) -> list[int]:
        """Responses by status class: index 1 is 1xx ... index 5 is 5xx (0 is unused)."""
        counts = [0] * 6
        for (_, _, status), n in self.requests.items():
            counts[min(status // 100, 5)] += n
        return counts

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        self.requests[key] = self.requests.get(key, 0) + 1
        histogram = self.latency.get(route)
        if histogram is None:
            histogram = self.latency[route] = _Histogram()
        histogram.observe(seconds)


def route_of(request: web.Request) -> str:
    """The route template (``/api/v1/devices/{device_id}``), never the raw path: ids and codes
    stay out of the labels and their number stays bounded."""
    resource = request.match_info.route.resource
    return UNMATCHED if resource is None else resource.canonical


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class _Text:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def metric(self, name: str, kind: str, help_: str) -> None:
        self.lines += [f"# HELP {name} {help_}", f"# TYPE {name} {kind}"]

    def sample(self, name: str, value: float, **labels: str) -> None:
        if labels:
            shown = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
            self.lines.append(f"{name}{{{shown}}} {value:g}")
        else:
            self.lines.append(f"{name} {value:g}")


def _http(text: _Text, metrics: Metrics) -> None:
    text.metric("zenml_server_responses_total", "counter", "Responses sent, by status class.")
    by_class = metrics.by_class()
    for klass in range(1, 6):
        text.sample("zenml_server_responses_total", by_class[klass], **{"class": f"{klass}xx"})
    text.metric(
        "zenml_server_http_requests_total",
        "counter",
        "Requests by method, route template and status code.",
    )
    for (method, route, status), n in sorted(metrics.requests.items()):
        text.sample(
            "zenml_server_http_requests_total", n, method=method, route=route, code=str(status)
        )
    name = "zenml_server_http_request_duration_seconds"
    text.metric(name, "histogram", "Time from request to response, by route template.")
    for route, histogram in sorted(metrics.latency.items()):
        cumulative = 0
        for bound, n in zip((*BUCKETS, float("inf")), histogram.buckets, strict=True):
            cumulative += n
            le = "+Inf" if bound == float("inf") else f"{bound:g}"
            text.sample(f"{name}_bucket", cumulative, route=route, le=le)
        text.sample(f"{name}_sum", round(histogram.sum, 6), route=route)
        text.sample(f"{name}_count", histogram.count, route=route)


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text format 0.0.4: requests, latency, device flows, logins, revocations,
    the database pool and availability, and the background loops."""
    counters = request.app[METRICS]
    services = request.app[SERVICES]
    db = request.app[STORE].db
    revocations = services.wiring.revocations
    events = services.wiring.events
    text = _Text()
    _http(text, counters)
    text.metric("zenml_server_device_flows_total", "counter", "Device logins by what happened.")
    for outcome in ("started", "approved", "denied", "expired"):
        text.sample(
            "zenml_server_device_flows_total", events.get("device_flow", outcome), outcome=outcome
        )
    text.metric("zenml_server_logins_total", "counter", "Token requests by grant kind and outcome.")
    for (name, label), n in sorted(events.counts.items()):
        if name == "login":
            kind, _, outcome = label.partition(":")
            text.sample("zenml_server_logins_total", n, kind=kind, outcome=outcome)
    text.metric(
        "zenml_server_revocations_sent_total", "counter", "Credential changes announced here."
    )
    text.sample("zenml_server_revocations_sent_total", revocations.sent)
    text.metric(
        "zenml_server_revocations_received_total",
        "counter",
        "Credential changes heard from any process, by path (LISTEN/NOTIFY or the change log).",
    )
    for path, n in sorted(revocations.received.items()):
        text.sample("zenml_server_revocations_received_total", n, path=path)
    size, in_use, waiting, maximum = db.pool_stats()
    for name, value, help_ in (
        ("zenml_server_db_pool_size", size, "Database connections open."),
        ("zenml_server_db_pool_in_use", in_use, "Database connections in use."),
        ("zenml_server_db_pool_waiting", waiting, "Requests waiting for a database connection."),
        ("zenml_server_db_pool_max", maximum, "The most database connections the pool opens."),
    ):
        text.metric(name, "gauge", help_)
        text.sample(name, value)
    text.metric("zenml_server_database_up", "gauge", "1 when the last database statement worked.")
    text.sample("zenml_server_database_up", int(db.availability.up))
    text.metric(
        "zenml_server_background_loop_last_success_age_seconds",
        "gauge",
        "Seconds since each background loop last completed a round.",
    )
    for loop, age in sorted(services.loops.ages().items()):
        text.sample(
            "zenml_server_background_loop_last_success_age_seconds", round(age, 3), loop=loop
        )
    text.metric("zenml_server_background_loop_stale", "gauge", "1 when a loop is past its bound.")
    stale = set(services.loops.stale())
    for loop in sorted(services.loops.states):
        text.sample("zenml_server_background_loop_stale", int(loop in stale), loop=loop)
    if db.dialect == "postgresql":
        text.metric("zenml_server_listen_connected", "gauge", "1 while LISTEN is connected.")
        text.sample("zenml_server_listen_connected", int(revocations.listening))
    text.metric("zenml_server_credential_cache_entries", "gauge", "Credential states cached here.")
    text.sample("zenml_server_credential_cache_entries", len(revocations.cache))
    name = "zenml_server_rate_limit_keys"
    text.metric(name, "gauge", "Keys (addresses, names) each rate limit holds, up to its bound.")
    for limit, keys in services.wiring.rate_limits.key_counts().items():
        text.sample(name, keys, limit=limit)
    text.metric(
        "zenml_server_revoked_tokens",
        "gauge",
        "Revoked token ids (jti) not yet expired, held in memory here.",
    )
    text.sample("zenml_server_revoked_tokens", services.token_revocation.held)
    text.metric("zenml_server_uptime_seconds", "gauge", "Seconds since this process started.")
    text.sample("zenml_server_uptime_seconds", round(time.time() - counters.started))
    text.metric("zenml_server_info", "gauge", "The server's version and database engine.")
    text.sample("zenml_server_info", 1, version=services.version, database=db.dialect)
    body = ("\n".join(text.lines) + "\n").encode()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


def setup(app: web.Application) -> None:
    app[METRICS] = Metrics()
    app.router.add_get("/metrics", metrics)
