"""Routes for this feature are added by its own work."""

from __future__ import annotations

from aiohttp import web


def setup(app: web.Application) -> None:
    return None
