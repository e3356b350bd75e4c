"""Strict reading of request bodies: forms for OAuth and pages, JSON for the API.

Bodies are capped by the app's ``client_max_size`` and must arrive within
``request_body_timeout_seconds``; bytes that are not UTF-8, repeated fields (RFC 6749 §3.2:
parameters MUST NOT be included more than once), JSON nested deeper than any body needs and
wrong content types are refused before anything is looked at. Error messages name a field
only when its name is plain (letters, digits, ``_.-``): a client's odd bytes are never echoed.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from zenml_server.domain.errors import InvalidInput
from zenml_server.http.errors import (
    ClientClosed,
    RequestTimeout,
    UnsupportedMediaType,
    ValidationFailed,
)
from zenml_server.http.keys import SETTINGS

FORM_TYPE = "application/x-www-form-urlencoded"
_MAX_FIELDS = 32
_MAX_JSON_DEPTH = 16
# The largest page number accepted (documented as the ``maximum`` of every ``page``
# parameter): with sizes up to 1000 the offset stays far inside a 64-bit integer.
MAX_PAGE = 1_000_000
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def field_label(name: str) -> str:
    """How an error message names a field: quoted when plain, else generically."""
    return f"'{name}'" if _PLAIN_NAME.fullmatch(name) else "with an unusual name"


async def read_body(request: web.Request) -> bytes:
    """The whole body, within the body timeout; 408 when it does not arrive in time."""
    timeout = request.app[SETTINGS].request_body_timeout_seconds
    try:
        async with asyncio.timeout(timeout):
            return await request.read()
    except TimeoutError:
        raise RequestTimeout(
            "the request body did not arrive in time", headers={"Connection": "close"}
        ) from None
    except ConnectionResetError:
        raise ClientClosed() from None


async def read_form(request: web.Request) -> dict[str, str]:
    """The fields of a url-encoded form body, each present at most once."""
    if request.content_type != FORM_TYPE:
        raise UnsupportedMediaType(f"the body must be {FORM_TYPE}")
    raw = await read_body(request)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed("the body is not valid UTF-8") from None
    try:
        pairs = parse_qsl(
            text, keep_blank_values=True, strict_parsing=bool(text), max_num_fields=_MAX_FIELDS
        )
    except ValueError:
        raise ValidationFailed("the body is not a valid form") from None
    fields: dict[str, str] = {}
    for key, value in pairs:
        if key in fields:
            raise ValidationFailed(f"the field {field_label(key)} is repeated")
        if "\x00" in value:
            raise ValidationFailed(f"the field {field_label(key)} holds a NUL character")
        fields[key] = value
    return fields


async def read_json(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object."""
    if request.content_type != "application/json":
        raise UnsupportedMediaType("the body must be application/json")
    raw = await read_body(request)
    try:
        body = json.loads(raw.decode("utf-8")) if raw else None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ValidationFailed("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ValidationFailed("the body must be a JSON object")
    _check_storable(body, 0)
    return body


def _check_storable(value: Any, depth: int) -> None:
    """Refuse strings no database can hold: NUL characters and lone surrogates (which JSON
    escapes such as ``\\u0000`` and ``\\ud800`` can smuggle past UTF-8 decoding), and
    nesting deeper than any body of this API needs."""
    if depth > _MAX_JSON_DEPTH:
        raise ValidationFailed("the body is nested too deeply")
    if isinstance(value, str):
        if "\x00" in value:
            raise ValidationFailed("the body holds a NUL character")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationFailed("the body holds text that is not valid Unicode") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_storable(key, depth + 1)
            _check_storable(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_storable(item, depth + 1)


def require_text(fields: dict[str, Any], name: str, *, max_length: int = 1024) -> str:
    """A required string field."""
    value = fields.get(name)
    if not isinstance(value, str) or not value:
        raise ValidationFailed(f"the field {name!r} is required")
    if len(value) > max_length:
        raise ValidationFailed(f"the field {name!r} is too long")
    return value


def optional_text(fields: dict[str, Any], name: str, *, max_length: int = 1024) -> str | None:
    """An optional string field (None when absent)."""
    value = fields.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationFailed(f"the field {name!r} must be a string")
    if len(value) > max_length:
        raise ValidationFailed(f"the field {name!r} is too long")
    return value


def optional_bool(fields: dict[str, Any], name: str) -> bool | None:
    """An optional JSON boolean (None when absent)."""
    value = fields.get(name)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise ValidationFailed(f"the field {name!r} must be true or false")
    return value


def optional_integer(fields: dict[str, Any], name: str, *, default: int) -> int:
    """An optional JSON integer (``default`` when absent). As in JSON Schema, a number with
    no fractional part (``2.0``) is an integer; booleans are not."""
    value = fields.get(name, default)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if type(value) is not int:
        raise ValidationFailed(f"the field {field_label(name)} must be a whole number")
    return value


def optional_timestamp(fields: dict[str, Any], name: str) -> float | None:
    """An optional ISO 8601 date-time with a time zone (``2027-03-01T00:00:00Z``), as POSIX
    seconds; None when absent or null."""
    value = fields.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 64:
        raise ValidationFailed(f"the field {name!r} must be an ISO 8601 date-time")
    return iso_timestamp(value, f"the field {name!r}")


def iso_timestamp(value: str, what: str) -> float:
    """``value``, an ISO 8601 date-time with a time zone, as POSIX seconds; ``what`` names it
    in the error (``the field 'expires_at'``, ``the parameter 'since'``)."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed(f"{what} must be an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        raise ValidationFailed(f"{what} needs a time zone (e.g. Z for UTC)")
    return parsed.timestamp()


def query_bool(request: web.Request, name: str) -> bool | None:
    """An optional boolean query parameter: true/false/1/0."""
    raw = request.query.get(name)
    if raw is None:
        return None
    lowered = raw.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise ValidationFailed(f"the parameter {name!r} must be true or false")


def whole_number(raw: str, name: str, *, maximum: int) -> int:
    """A whole number from 0 to ``maximum`` in ASCII digits (``int()`` alone takes ``٣`` as
    3 and fails on ``²``); InvalidInput otherwise."""
    text = raw.strip()
    if not text or not (text.isascii() and text.isdigit()) or len(text) > len(str(maximum)):
        raise InvalidInput(f"{name} must be a whole number from 0 to {maximum}")
    value = int(text)
    if value > maximum:
        raise InvalidInput(f"{name} must be a whole number from 0 to {maximum}")
    return value


def pagination(request: web.Request, *, max_size: int = 1000) -> tuple[int, int]:
    """``page`` (1 to MAX_PAGE) and ``size`` (1 to ``max_size``) query parameters, checked."""
    problem = f"page must be from 1 to {MAX_PAGE} and size from 1 to {max_size}"
    try:
        page = whole_number(request.query.get("page", "1"), "page", maximum=MAX_PAGE)
        size = whole_number(request.query.get("size", "50"), "size", maximum=max_size)
    except InvalidInput:
        raise ValidationFailed(problem) from None
    if page < 1 or size < 1:
        raise ValidationFailed(problem)
    return page, size
