"""GET /api/v1/openapi.json: the OpenAPI 3.1 description of the API.

Each feature describes its own endpoints in ``http/openapi/<feature>.json`` (``paths`` and
``components.schemas``); the document served is their union, built once per process.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from aiohttp import web

from zenml_server import __version__
from zenml_server.http.errors import OAUTH_PATHS


@functools.cache
def document() -> dict[str, Any]:
    """The merged OpenAPI document."""
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "zenml-server",
            "version": __version__,
            "description": "Device login, service accounts and API keys for ZenML clients.",
        },
        "paths": {},
        "components": {
            "schemas": {},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
    folder = resources.files("zenml_server.http.openapi")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".json"):
            continue
        part = json.loads(entry.read_text(encoding="utf-8"))
        for path, item in part.get("paths", {}).items():
            if path in doc["paths"]:
                raise RuntimeError(f"{entry.name}: path {path} is described twice")
            doc["paths"][path] = item
        for name, schema in part.get("components", {}).get("schemas", {}).items():
            if name in doc["components"]["schemas"]:
                raise RuntimeError(f"{entry.name}: schema {name} is described twice")
            doc["components"]["schemas"][name] = schema
    _add_common_responses(doc)
    _forbid_nul_in_parameters(doc)
    return doc


# Answers any operation can give, added wherever a part does not describe them itself.
_COMMON = {
    "422": "the URL holds a NUL character or another unusable value",
    "500": "an unexpected error; the request id identifies it in the server log",
    "503": "the database does not answer; retry after Retry-After seconds",
}


# Answers any operation that reads a body can give.
_WITH_BODY = {
    "408": "the body did not arrive within ZENML_SERVER_REQUEST_BODY_TIMEOUT_SECONDS",
    "413": "the body is larger than ZENML_SERVER_MAX_REQUEST_SIZE",
}


def _add_common_responses(doc: dict[str, Any]) -> None:
    for path, item in doc["paths"].items():
        oauth = path in OAUTH_PATHS
        schema = "#/components/schemas/OAuthError" if oauth else "#/components/schemas/Error"
        for method, operation in item.items():
            if method == "parameters" or not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            common = dict(_COMMON)
            if "requestBody" in operation:
                common.update(_WITH_BODY)
            for status, description in common.items():
                if oauth and status == "422":
                    continue  # OAuth endpoints answer 400 invalid_request instead
                responses.setdefault(
                    status,
                    {
                        "description": description,
                        "content": {"application/json": {"schema": {"$ref": schema}}},
                    },
                )


_NO_NUL = "^[^\\x00]*$"


def _forbid_nul_in_parameters(doc: dict[str, Any]) -> None:
    """No path or query parameter may hold a NUL (the server answers 422 for any URL with
    one): say so on every string parameter that has no pattern of its own."""
    for item in doc["paths"].values():
        operations = [op for op in item.values() if isinstance(op, dict)]
        for holder in [item, *operations]:
            for parameter in holder.get("parameters", []):
                schema = parameter.get("schema", {})
                if schema.get("type") == "string" and "pattern" not in schema:
                    schema["pattern"] = _NO_NUL


@functools.cache
def _body() -> bytes:
    return json.dumps(document()).encode()


async def openapi_json(request: web.Request) -> web.Response:
    return web.Response(body=_body(), content_type="application/json")


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/openapi.json", openapi_json)
