"""GET /api/v1/openapi.json: the OpenAPI 3.1 description of the API."""

from __future__ import annotations

from importlib import resources

from aiohttp import web


def load() -> bytes:
    return resources.files("zenml_server.http").joinpath("openapi.json").read_bytes()


async def openapi_json(request: web.Request) -> web.Response:
    return web.Response(body=load(), content_type="application/json")


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/openapi.json", openapi_json)
