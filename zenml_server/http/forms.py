"""Strict reading of request bodies: forms for OAuth and pages, JSON for the API.

Bodies are capped by the app's ``client_max_size``; bytes that are not UTF-8, repeated
fields (RFC 6749 §3.2: parameters MUST NOT be included more than once) and wrong content
types are refused before anything is looked at.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from zenml_server.http.errors import UnsupportedMediaType, ValidationFailed

FORM_TYPE = "application/x-www-form-urlencoded"
_MAX_FIELDS = 32


async def read_form(request: web.Request) -> dict[str, str]:
    """The fields of a url-encoded form body, each present at most once."""
    if request.content_type != FORM_TYPE:
        raise UnsupportedMediaType(f"the body must be {FORM_TYPE}")
    raw = await request.read()
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
            raise ValidationFailed(f"the field {key!r} is repeated")
        if "\x00" in value:
            raise ValidationFailed(f"the field {key!r} holds a NUL character")
        fields[key] = value
    return fields


async def read_json(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object."""
    if request.content_type != "application/json":
        raise UnsupportedMediaType("the body must be application/json")
    raw = await request.read()
    try:
        body = json.loads(raw.decode("utf-8")) if raw else None
    except (UnicodeDecodeError, ValueError):
        raise ValidationFailed("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ValidationFailed("the body must be a JSON object")
    _check_storable(body)
    return body


def _check_storable(value: Any) -> None:
    """Refuse strings no database can hold: NUL characters and lone surrogates (which JSON
    escapes such as ``\\u0000`` and ``\\ud800`` can smuggle past UTF-8 decoding)."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValidationFailed("the body holds a NUL character")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationFailed("the body holds text that is not valid Unicode") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_storable(key)
            _check_storable(item)
    elif isinstance(value, list):
        for item in value:
            _check_storable(item)


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


def optional_timestamp(fields: dict[str, Any], name: str) -> float | None:
    """An optional ISO 8601 date-time with a time zone (``2027-03-01T00:00:00Z``), as POSIX
    seconds; None when absent or null."""
    value = fields.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 64:
        raise ValidationFailed(f"the field {name!r} must be an ISO 8601 date-time")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed(f"the field {name!r} must be an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        raise ValidationFailed(f"the field {name!r} needs a time zone (e.g. Z for UTC)")
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


def pagination(request: web.Request, *, max_size: int = 1000) -> tuple[int, int]:
    """``page`` (from 1) and ``size`` query parameters, checked."""
    try:
        page = int(request.query.get("page", "1"))
        size = int(request.query.get("size", "50"))
    except ValueError:
        raise ValidationFailed("page and size must be whole numbers") from None
    if page < 1 or not 1 <= size <= max_size:
        raise ValidationFailed(f"page must be >= 1 and size between 1 and {max_size}")
    return page, size
