"""GET /.well-known/jwks.json: the public keys that verify this server's tokens (RFC 7517).

Lists every Ed25519 key that still verifies (the current one and superseded ones whose tokens
have not all expired). A configured HS256 secret is never published.
"""

from __future__ import annotations

from aiohttp import web

from zenml_server.http.keys import SERVICES

# Verifiers re-fetch on a kid they do not know, so a short cache never hides a new key long.
_CACHE = {"Cache-Control": "public, max-age=300"}


async def jwks(request: web.Request) -> web.Response:
    keys = request.app[SERVICES].signing_keys.published()
    return web.json_response({"keys": keys}, headers=_CACHE)


def setup(app: web.Application) -> None:
    app.router.add_get("/.well-known/jwks.json", jwks)
