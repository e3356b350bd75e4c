"""Unexpected errors, the access log and /metrics."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.openapi_check import checked
from zenml_server.domain.clock import ManualClock
from zenml_server.http.app import create_app
from zenml_server.http.observability import ACCESS_LOG, AccessLogger
from zenml_server.settings import Settings
from zenml_server.storage.store import Store


async def _boom(request: web.Request) -> web.Response:
    raise RuntimeError("secret internal detail")


async def test_unexpected_error_is_logged_with_request_id_and_hidden(
    aiohttp_client: Any, store: Store, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug answers a generic 500 whose request id is the one in the logged traceback."""
    app = create_app(settings, store=store, clock=ManualClock())
    app.router.add_get("/api/v1/boom", _boom)
    app.router.add_get("/boom", _boom)
    client = await aiohttp_client(app)
    with caplog.at_level(logging.ERROR):
        resp = await client.get("/api/v1/boom")
        page = await client.get("/boom")
    assert resp.status == 500 and page.status == 500
    body = await resp.json()
    assert body == {
        "error": "internal_error",
        "detail": "unexpected error",
        "request_id": resp.headers["X-Request-ID"],
    }
    assert "secret internal detail" not in await page.text()
    assert "Traceback" not in await page.text()
    logged = [r for r in caplog.records if r.exc_info]
    assert any(body["request_id"] in r.getMessage() for r in logged)


async def test_access_log_has_no_query_string(
    aiohttp_client: Any, store: Store, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """Access log lines name the path and status but never the query (user codes live there)."""
    server = TestServer(create_app(settings, store=store, clock=ManualClock()))
    await server.start_server(access_log_class=AccessLogger, access_log=ACCESS_LOG)
    client = await aiohttp_client(server)
    with caplog.at_level(logging.INFO, logger="zenml_server.access"):
        await client.get("/login?next=/devices/verify%3Fuser_code%3DWDJBMJHT")
        # The server logs a request after sending its response; a second request on the
        # same keep-alive connection is served only after that.
        await client.get("/health")
    lines = [r.getMessage() for r in caplog.records if r.name == "zenml_server.access"]
    assert any("GET /login" in line and " 200 " in line for line in lines)
    assert not any("WDJB" in line for line in lines)


async def test_metrics_count_responses(client: Any) -> None:
    """/metrics reports responses by status class in Prometheus text format."""
    await client.get("/health")
    await client.get("/api/v1/nothing")
    resp = await client.get("/metrics")
    text = await checked(resp)
    assert 'zenml_server_responses_total{class="2xx"}' in text
    assert 'zenml_server_responses_total{class="4xx"} 1' in text
    assert "zenml_server_info{" in text


async def test_request_ids_are_unique(client: Any) -> None:
    """Every response carries its own request id."""
    ids = {(await client.get("/health")).headers["X-Request-ID"] for _ in range(20)}
    assert len(ids) == 20
