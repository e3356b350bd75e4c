"""The admin page of the audit trail (/audit): newest events first, with the API's filters."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from zenml_server.domain.audit import AuditQuery
from zenml_server.http.api.audit import decode_cursor, encode_cursor, event_json
from zenml_server.http.errors import ForbiddenError
from zenml_server.http.keys import SERVICES
from zenml_server.http.pages.render import render, when
from zenml_server.http.pages.session import require_user

PAGE = "/audit"
PAGE_SIZE = 100
_MAX_FILTER = 256


def _filter(request: web.Request, name: str) -> str | None:
    value = request.query.get(name, "").strip()
    return value[:_MAX_FILTER] or None


async def audit_page(request: web.Request) -> web.Response:
    user = await require_user(request)
    if not user.is_admin:
        raise ForbiddenError("Only administrators can read the audit trail.")
    filters = {name: _filter(request, name) for name in ("actor", "action", "target")}
    cursor = _filter(request, "cursor")
    after = decode_cursor(cursor) if cursor else None
    query = AuditQuery(actor=filters["actor"], action=filters["action"], target=filters["target"])
    events = await request.app[SERVICES].wiring.audit.search(
        query, after=after, limit=PAGE_SIZE + 1
    )
    more = len(events) > PAGE_SIZE
    events = events[:PAGE_SIZE]
    rows: list[dict[str, Any]] = []
    for event in events:
        row = event_json(event)
        row["when"] = when(event.created)
        rows.append(row)
    return render(
        request,
        "audit.html",
        {
            "events": rows,
            "filters": {k: v or "" for k, v in filters.items()},
            "next_cursor": encode_cursor(events[-1]) if more else None,
        },
    )


def setup(app: web.Application) -> None:
    app.router.add_get(PAGE, audit_page)
