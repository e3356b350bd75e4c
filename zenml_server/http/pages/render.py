"""Rendering a page: the template, its CSRF token and cookie."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import aiohttp_jinja2
from aiohttp import web

from zenml_server.http.pages.session import csrf_cookie, csrf_token


def render(
    request: web.Request, template: str, context: Mapping[str, object], *, status: int = 200
) -> web.Response:
    """Render ``template`` with ``context`` plus ``csrf_token`` for its forms."""
    full = {"csrf_token": csrf_token(request), "request": request, **context}
    response = aiohttp_jinja2.render_template(template, request, full, status=status)
    csrf_cookie(request, response)
    return response


def when(ts: float | None, *, never: str = "never") -> str:
    """A timestamp as people read it on a page: ``2026-11-28 11:28 UTC``."""
    if ts is None:
        return never
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def when_short(ts: float | None, *, never: str = "never") -> str:
    """A timestamp for a table cell (the column header says UTC): ``2026-11-28 11:28``."""
    if ts is None:
        return never
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M")
