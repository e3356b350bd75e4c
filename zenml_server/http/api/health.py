"""Liveness, readiness and the deployment's identity."""

from __future__ import annotations

from aiohttp import web

from zenml_server.domain.errors import StorageUnavailable
from zenml_server.http.keys import SERVICES, STORE

_OK = web.json_response({"status": "ok"}).body


async def health(request: web.Request) -> web.Response:
    """Liveness: the process answers. No I/O."""
    return web.Response(body=_OK, content_type="application/json")


def _unavailable(detail: str) -> web.Response:
    return web.json_response(
        {"status": "unavailable", "detail": detail}, status=503, headers={"Retry-After": "5"}
    )


async def ready(request: web.Request) -> web.Response:
    """Readiness: 200 only when the database answers now and every background loop completed
    a round within its bound, else 503 with Retry-After."""
    try:
        await request.app[STORE].db.ping()
    except StorageUnavailable:
        return _unavailable("the database does not answer")
    stale = request.app[SERVICES].loops.stale()
    if stale:
        return _unavailable(f"background work has stalled: {', '.join(sorted(stale))}")
    return web.json_response({"status": "ready"})


async def info(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    return web.json_response(
        {
            "id": services.deployment_id,
            "version": services.version,
            "auth_scheme": "OAUTH2_PASSWORD_BEARER",
            "database": request.app[STORE].db.dialect,
        }
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
    app.router.add_get("/api/v1/info", info)
