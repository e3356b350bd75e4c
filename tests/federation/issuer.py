"""A minimal issuer served in the test's event loop: its own discovery document and JWKS,
keys it can rotate, and counts of what was fetched. For what the real provider cannot be made
to do on demand (rotate keys; count fetches)."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.servers import free_port

ISSUER = web.AppKey("issuer", "Issuer")


@dataclass
class Issuer:
    url: str = ""
    keys: list[RSAKey] = field(default_factory=list)
    fetches: dict[str, int] = field(default_factory=lambda: {"discovery": 0, "jwks": 0})
    # What /token answers: an ID token with these claims (set by the test), and what it got.
    id_token_claims: dict[str, Any] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    # When True, the discovery document answers HTTP 503 (a provider that is down).
    down: bool = False

    def rotate(self) -> RSAKey:
        """Publish a new key (the old ones are dropped); return it."""
        key = RSAKey.generate_key(2048, parameters={"kid": uuid.uuid4().hex, "use": "sig"})
        self.keys = [key]
        return key

    def token(self, key: RSAKey | None = None, **claims: Any) -> str:
        """A JWT signed by ``key`` (default: the published one)."""
        key = key or self.keys[0]
        now = int(time.time())
        payload = {
            "iss": self.url,
            "sub": "system:serviceaccount:ml:trainer",
            "aud": "https://zenml.example.com",
            "iat": now,
            "exp": now + 300,
            "jti": uuid.uuid4().hex,
            **claims,
        }
        return jwt.encode({"alg": "RS256", "kid": key.kid}, payload, key)


async def _discovery(request: web.Request) -> web.Response:
    issuer = request.app[ISSUER]
    issuer.fetches["discovery"] += 1
    if issuer.down:
        return web.json_response({"error": "down"}, status=503)
    return web.json_response(
        {
            "issuer": issuer.url,
            "jwks_uri": issuer.url + "/jwks",
            "authorization_endpoint": issuer.url + "/auth",
            "token_endpoint": issuer.url + "/token",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }
    )


async def _token(request: web.Request) -> web.Response:
    issuer = request.app[ISSUER]
    issuer.token_requests.append(dict(await request.post()))  # type: ignore[arg-type]
    id_token = issuer.token(**issuer.id_token_claims)
    return web.json_response({"access_token": "x", "token_type": "Bearer", "id_token": id_token})


async def _jwks(request: web.Request) -> web.Response:
    issuer = request.app[ISSUER]
    issuer.fetches["jwks"] += 1
    return web.json_response({"keys": [k.as_dict(private=False) for k in issuer.keys]})


@asynccontextmanager
async def serving_issuer() -> AsyncIterator[Issuer]:
    """An issuer on a free loopback port, with one key published."""
    issuer = Issuer()
    issuer.rotate()
    app = web.Application()
    app[ISSUER] = issuer
    app.router.add_get("/.well-known/openid-configuration", _discovery)
    app.router.add_get("/jwks", _jwks)
    app.router.add_post("/token", _token)
    port = free_port()
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    issuer.url = f"http://127.0.0.1:{port}"
    try:
        yield issuer
    finally:
        await runner.cleanup()
