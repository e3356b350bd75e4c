"""``/static/<file>``: the stylesheet and scripts of the pages.

Only the files shipped in ``web/static`` are served, looked up by exact name in a table made
once at start-up (no path from the request ever reaches the file system). Anything else, and
``/static/`` itself, is the 404 page, not an empty download or a directory-listing refusal.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from zenml_server.http.keys import STATIC_FILES

_TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}


def static_files(root: Path) -> dict[str, Path]:
    """Every regular file directly in ``root``, by name."""
    return {path.name: path for path in root.iterdir() if path.is_file()}


async def static_file(request: web.Request) -> web.StreamResponse:
    path = request.app[STATIC_FILES].get(request.match_info.get("name", ""))
    if path is None:
        raise web.HTTPNotFound()
    content_type = _TYPES.get(path.suffix, "application/octet-stream")
    return web.FileResponse(
        path,
        headers={
            "Content-Type": f"{content_type}; charset=utf-8"
            if content_type.startswith("text/")
            else content_type,
            "Cache-Control": "public, max-age=300",
            "X-Content-Type-Options": "nosniff",
        },
    )


def setup(app: web.Application, root: Path) -> None:
    app[STATIC_FILES] = static_files(root)
    app.router.add_get("/static", static_file)
    app.router.add_get("/static/{name:.*}", static_file)
