"""Reference servers: the least an aiohttp process can do for each kind of request.

    python -m bench.reference --mode json|jwt|sqlite --port P

- ``json``: any path, any method, answers a small JSON body.
- ``jwt``: the same, after PyJWT HS256 verification of the bearer token (secret from
  ``BENCH_JWT_SECRET``); a POST reads its form body first, as our login endpoints do.
- ``sqlite``: the same as ``jwt`` plus one indexed lookup (through aiosqlite, like our
  server) of the SHA-256 of the bearer token in a table of 10,000 rows (``BENCH_SQLITE_PATH``).

What our server does on top of these (routing, error middleware, revocation checks, database
writes) is what the ratios in the benchmark measure.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import secrets
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable

import aiosqlite
import jwt
from aiohttp import web

ROWS = 10_000
DB: web.AppKey[aiosqlite.Connection] = web.AppKey("db", aiosqlite.Connection)
_BODY = {"id": "00000000-0000-0000-0000-000000000000", "name": "admin", "active": True}
Handler = Callable[[web.Request], Awaitable[web.Response]]


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def prepare_database(path: str, token: str) -> None:
    """A table of ROWS rows keyed by digest, one of them the digest of ``token``."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE IF NOT EXISTS items (digest TEXT PRIMARY KEY, value TEXT)")
        rows = [(token_digest(secrets.token_hex(16)), "x") for _ in range(ROWS - 1)]
        rows.append((token_digest(token), "the one"))
        conn.executemany("INSERT OR REPLACE INTO items VALUES (?, ?)", rows)


def _bearer(request: web.Request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise web.HTTPUnauthorized()
    return token


def make_app(mode: str) -> web.Application:
    secret = os.environ.get("BENCH_JWT_SECRET", "")
    decoder = jwt.PyJWT()

    async def small_json(request: web.Request) -> web.Response:
        if request.method == "POST":
            await request.post()
        return web.json_response(_BODY)

    async def with_jwt(request: web.Request) -> web.Response:
        if request.method == "POST":
            await request.post()
        try:
            claims = decoder.decode(_bearer(request), secret, algorithms=["HS256"])
        except jwt.PyJWTError:
            raise web.HTTPUnauthorized() from None
        return web.json_response({**_BODY, "sub": claims.get("sub")})

    async def with_lookup(request: web.Request) -> web.Response:
        if request.method == "POST":
            await request.post()
        token = _bearer(request)
        try:
            claims = decoder.decode(token, secret, algorithms=["HS256"])
        except jwt.PyJWTError:
            raise web.HTTPUnauthorized() from None
        db = request.app[DB]
        async with db.execute(
            "SELECT value FROM items WHERE digest = ?", (token_digest(token),)
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            raise web.HTTPUnauthorized()
        return web.json_response({**_BODY, "sub": claims.get("sub"), "value": row[0]})

    handlers: dict[str, Handler] = {"json": small_json, "jwt": with_jwt, "sqlite": with_lookup}
    app = web.Application()
    if mode == "sqlite":
        app.cleanup_ctx.append(_open_db)
    app.router.add_get("/health", small_json)  # how the benchmark knows it is up
    app.router.add_route("*", "/{tail:.*}", handlers[mode])
    return app


async def _open_db(app: web.Application) -> AsyncIterator[None]:
    async with aiosqlite.connect(os.environ["BENCH_SQLITE_PATH"]) as db:
        app[DB] = db
        yield


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["json", "jwt", "sqlite"], required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    web.run_app(make_app(args.mode), host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
