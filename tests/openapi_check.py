"""Check real responses against the served OpenAPI document.

``await checked(resp)`` validates the status and JSON body of an aiohttp test response
against the operation that the request hit, and returns the body.
"""

from __future__ import annotations

import re
from typing import Any

import jsonschema
from aiohttp import ClientResponse
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from zenml_server.http.openapi_doc import document


def _operation(method: str, path: str) -> dict[str, Any]:
    doc = document()
    for template, item in doc["paths"].items():
        pattern = "^" + re.sub(r"\{[^/]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path) and method.lower() in item:
            op: dict[str, Any] = item[method.lower()]
            return op
    raise AssertionError(f"{method} {path} is not described in the OpenAPI document")


def _registry() -> Registry:
    resource: Resource[Any] = DRAFT202012.create_resource(document())
    return Registry().with_resource("urn:zenml-openapi", resource)


async def checked(resp: ClientResponse) -> Any:
    """Validate ``resp`` against the document; return its JSON body (None when empty)."""
    op = _operation(resp.method, resp.url.path)
    status = str(resp.status)
    assert status in op["responses"], f"{resp.method} {resp.url.path}: {status} not documented"
    content = op["responses"][status].get("content")
    if content is None:
        assert not await resp.read(), f"{resp.method} {resp.url.path}: {status} has a body"
        return None
    if "application/json" not in content:
        assert resp.content_type in content, f"{resp.content_type} not documented"
        return await resp.text()
    body = await resp.json()
    schema = content["application/json"]["schema"]
    ref_schema = {"$ref": "urn:zenml-openapi" + schema["$ref"]} if "$ref" in schema else schema
    jsonschema.Draft202012Validator(ref_schema, registry=_registry()).validate(body)
    return body
