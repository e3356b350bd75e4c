"""Liveness, readiness and the deployment's identity."""

from __future__ import annotations

from aiohttp import web

from zenml_server.domain.errors import StorageUnavailable
from zenml_server.http.keys import SERVICES, STORE

_OK = web.json_response({"status": "ok"}).body


async def health(request: web.Request) -> web.Response:
    """Liveness: the process answers. No I/O."""
    return web.Response(body=_OK, content_type="application/json")


async def ready(request: web.Request) -> web.Response:
    """Readiness: 200 only when the database answers now, else 503."""
    try:
        await request.app[STORE].db.ping()
    except StorageUnavailable:
        return web.json_response(
            {"status": "unavailable", "detail": "the database does not answer"},
            status=503,
            headers={"Retry-After": "5"},
        )
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
