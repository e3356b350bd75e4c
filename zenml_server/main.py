"""The ``zenml-server`` command: serve (default) or migrate."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Awaitable

from aiohttp import web

from zenml_server import __version__
from zenml_server.domain.clock import SystemClock
from zenml_server.domain.errors import StorageUnavailable
from zenml_server.settings import Settings, SettingsError, mask_url
from zenml_server.storage.db import Database, open_database

log = logging.getLogger("zenml_server")
STANDBY_MAX_RETRY_SECONDS = 2.0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zenml-server", description="Self-hosted authentication server for ZenML clients."
    )
    parser.add_argument("--version", action="version", version=f"zenml-server {__version__}")
    parser.add_argument("--host", help="address to listen on (ZENML_SERVER_HOST)")
    parser.add_argument("--port", type=int, help="port to listen on (ZENML_SERVER_PORT)")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="run the server (the default)")
    sub.add_parser("migrate", help="apply database migrations and exit")
    return parser


async def _migrate(settings: Settings) -> list[int]:
    from zenml_server.storage.migrate import migrate
    from zenml_server.storage.store import Store

    store = await Store.open(settings.database_url, pool_size=1)
    try:
        return await migrate(store.db, SystemClock().now())
    finally:
        await store.close()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env(os.environ)
    except SettingsError as exc:
        print(f"zenml-server: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        if args.command == "migrate":
            applied = asyncio.run(_migrate(settings))
            print(f"applied migrations: {applied}" if applied else "database is up to date")
            return 0
        return _serve(settings, host=args.host or settings.host, port=args.port or settings.port)
    except StorageUnavailable as exc:
        print(f"zenml-server: database {mask_url(settings.database_url)}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


async def _answers(db: Database) -> bool:
    try:
        await db.ping()
    except StorageUnavailable:
        return False
    return True


async def _app_when_ready(settings: Settings, sock: socket.socket) -> web.Application:
    """The real app, once the database answers. Until then a standby app on the same socket
    says the process is alive (/health) but not ready (503), so an orchestrator neither routes
    to it nor restarts it; SIGTERM still ends it cleanly. The listening socket stays open across
    the swap: connections made meanwhile wait in its backlog instead of being refused."""
    from zenml_server.http.app import create_app

    if settings.database_url.startswith("sqlite:"):
        return create_app(settings)
    db = await open_database(settings.database_url, pool_size=1)
    try:
        if not await _answers(db):
            await _stand_by(db, sock)
    finally:
        await db.close()
    return create_app(settings)


async def _stand_by(db: Database, sock: socket.socket) -> None:
    """Serve the standby app on ``sock`` until ``db`` answers; raise GracefulExit on a signal."""
    from zenml_server.http.standby import create_standby_app

    log.info("waiting for the database (GET /ready answers 503 until it answers)")
    runner = web.AppRunner(create_standby_app(), access_log=None)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await web.SockSite(runner, sock.dup()).start()
        delay = 0.25
        while not await _answers(db):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            if stop.is_set():
                raise web.GracefulExit
            delay = min(delay * 2, STANDBY_MAX_RETRY_SECONDS)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        await runner.cleanup()


def _serve(settings: Settings, *, host: str, port: int) -> int:
    from zenml_server.http.observability import ACCESS_LOG, AccessLogger

    started = time.perf_counter()
    try:
        sock = _listen(host, port)
    except OSError as exc:
        print(f"zenml-server: cannot listen on {host}:{port}: {exc.strerror}", file=sys.stderr)
        return 1
    app = _app_when_ready(settings, sock)
    url = settings.url or f"http://{host}:{port}"

    async def _ready(_app: web.Application) -> None:
        # Everything alive now (modules, app, templates) lives as long as the process: keep
        # it out of the collector's way, and collect young objects less often, so requests
        # do not pay for long garbage-collection pauses (p99 at one connection).
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 20, 20)
        elapsed = time.perf_counter() - started
        print(
            f"zenml-server {__version__} ready at {url} in {elapsed:.2f}s "
            f"(database: {mask_url(settings.database_url)})\n"
            f"Log in at {url}/login as {settings.admin_username!r}, "
            f"or connect a client: zenml connect --url {url}",
            file=sys.stderr,
            flush=True,
        )

    async def _with_ready(pending: Awaitable[web.Application]) -> web.Application:
        real = await pending
        real.on_startup.append(_ready)
        return real

    with sock:
        web.run_app(
            _with_ready(app),
            sock=sock,
            print=None,
            access_log=ACCESS_LOG,
            access_log_class=AccessLogger,
        )
    return 0


def _listen(host: str, port: int) -> socket.socket:
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]
    return socket.create_server((host, port), family=family, backlog=1024)


if __name__ == "__main__":
    sys.exit(main())
