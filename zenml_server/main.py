"""The ``zenml-server`` command: serve (default), migrate, or reset a user's password."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import sys
import time

from aiohttp import web

from zenml_server import __version__, keys_command, password_command
from zenml_server.domain.clock import SystemClock
from zenml_server.domain.errors import DomainError, StorageUnavailable
from zenml_server.settings import Settings, SettingsError, mask_url


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
    password_command.add_parser(sub)
    keys_command.add_parser(sub)
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
        if args.command == "reset-password":
            return password_command.run(settings, args.user, password_stdin=args.password_stdin)
        if args.command == "migrate":
            applied = asyncio.run(_migrate(settings))
            print(f"applied migrations: {applied}" if applied else "database is up to date")
            return 0
        if args.command == "keys":
            print(asyncio.run(keys_command.run(settings, args.keys_command)))
            return 0
        return _serve(settings, host=args.host or settings.host, port=args.port or settings.port)
    except StorageUnavailable as exc:
        print(f"zenml-server: database {mask_url(settings.database_url)}: {exc}", file=sys.stderr)
        return 1
    except DomainError as exc:
        # Signing keys that cannot be opened, a rotation refused: one line, no traceback.
        print(f"zenml-server: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _serve(settings: Settings, *, host: str, port: int) -> int:
    from zenml_server.http import serving

    started = time.perf_counter()
    try:
        sock = serving.listen(host, port)
    except OSError as exc:
        print(f"zenml-server: cannot listen on {host}:{port}: {exc.strerror}", file=sys.stderr)
        return 1
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

    with sock:
        asyncio.run(serving.serve(settings, sock, _ready))
    return 0


if __name__ == "__main__":
    sys.exit(main())
