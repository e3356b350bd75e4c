"""GET /api/v1/audit: the audit trail, for admins.

Filters (all optional): ``actor`` (id or name), ``action`` (exact, or a prefix ending in
``.`` such as ``device.``), ``target`` (id or name), ``since`` / ``until`` (ISO 8601 with a
time zone). Newest first; ``limit`` (1-500, default 100) per page and ``cursor`` (the
``next_cursor`` of the previous page).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from aiohttp import web

from zenml_server.domain.audit import AuditEvent, AuditQuery
from zenml_server.domain.clock import isoformat
from zenml_server.domain.errors import InvalidInput
from zenml_server.http.auth import require_admin
from zenml_server.http.errors import ValidationFailed
from zenml_server.http.forms import iso_timestamp, whole_number
from zenml_server.http.keys import SERVICES

MAX_LIMIT = 500
_MAX_FILTER = 256


def event_json(event: AuditEvent) -> dict[str, Any]:
    """The AuditEvent JSON shape (``#/components/schemas/AuditEvent``)."""
    actor = event.actor
    target = None
    if event.target_kind is not None:
        target = {"kind": event.target_kind, "id": event.target_id, "name": event.target_name}
    return {
        "id": event.id,
        "time": isoformat(event.created),
        "action": event.action,
        "outcome": event.outcome.value,
        "actor": {
            "kind": actor.kind,
            "id": actor.id,
            "name": actor.name,
            "credential": actor.credential,
        },
        "target": target,
        "client_ip": event.client_ip,
        "request_id": event.request_id,
        "detail": event.detail,
    }


def encode_cursor(event: AuditEvent) -> str:
    return base64.urlsafe_b64encode(f"{event.created!r}|{event.id}".encode()).decode()


def decode_cursor(raw: str) -> tuple[float, str]:
    try:
        created, _, event_id = base64.urlsafe_b64decode(raw.encode()).decode().partition("|")
        return float(created), event_id
    except (ValueError, UnicodeError, binascii.Error):
        raise ValidationFailed("the parameter 'cursor' is not a cursor this server gave") from None


def _text(request: web.Request, name: str) -> str | None:
    value = request.query.get(name)
    if value is None or value == "":
        return None
    if len(value) > _MAX_FILTER:
        raise ValidationFailed(f"the parameter {name!r} is too long")
    return value


def _time(request: web.Request, name: str) -> float | None:
    value = _text(request, name)
    if value is None:
        return None
    return iso_timestamp(value, f"the parameter {name!r}")


def _limit(request: web.Request) -> int:
    problem = f"the parameter 'limit' must be from 1 to {MAX_LIMIT}"
    try:
        limit = whole_number(request.query.get("limit", "100"), "limit", maximum=MAX_LIMIT)
    except InvalidInput:
        raise ValidationFailed(problem) from None
    if limit < 1:
        raise ValidationFailed(problem)
    return limit


async def list_events(request: web.Request) -> web.Response:
    await require_admin(request)
    query = AuditQuery(
        actor=_text(request, "actor"),
        action=_text(request, "action"),
        target=_text(request, "target"),
        since=_time(request, "since"),
        until=_time(request, "until"),
    )
    limit = _limit(request)
    cursor = _text(request, "cursor")
    after = decode_cursor(cursor) if cursor is not None else None
    audit = request.app[SERVICES].wiring.audit
    events = await audit.search(query, after=after, limit=limit + 1)
    more = len(events) > limit
    events = events[:limit]
    body = {
        "items": [event_json(e) for e in events],
        "next_cursor": encode_cursor(events[-1]) if more else None,
    }
    return web.json_response(body)


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/audit", list_events)
