"""One server process from start to stop: wait for the database, serve, stop without dropping
a request.

- Started before its database (or during an outage), the process serves a standby app on its
  port (``http/standby.py``: 200 on /health, 503 elsewhere) and swaps in the real app, which
  migrates, once the database answers. The listening socket stays open across the swap, so
  connections made meanwhile wait in its queue instead of being refused.
- On SIGTERM (or SIGINT) it stops accepting: every connection already queued on the socket is
  accepted and served, then the socket is shut, so a load balancer's next connection is
  refused (and tried on another replica) instead of reset after its request was sent. In-flight
  requests finish, those whose body is still arriving included (``http/protocol.py``); the
  exit code is 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from zenml_server.domain.errors import StorageUnavailable
from zenml_server.http.app import create_app
from zenml_server.http.observability import ACCESS_LOG, AccessLogger
from zenml_server.http.protocol import Runner
from zenml_server.http.standby import create_standby_app
from zenml_server.settings import Settings
from zenml_server.storage.db import Database, open_database

log = logging.getLogger("zenml_server")
STANDBY_MAX_RETRY_SECONDS = 2.0
# After it stops accepting, the process keeps serving this long before it closes idle
# connections: a request a client already sent on one is answered, not dropped.
SHUTDOWN_GRACE_SECONDS = 0.5
OnReady = Callable[[web.Application], Awaitable[None]]


def listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound now (so a busy port fails before anything else starts)."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]
    return socket.create_server((host, port), family=family, backlog=1024)


async def serve(settings: Settings, sock: socket.socket, on_ready: OnReady) -> None:
    """Serve on ``sock`` until SIGTERM or SIGINT."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        if not await _wait_for_database(settings, sock, stop):
            return
        app = create_app(settings)
        app.on_startup.append(on_ready)
        # Runner: a request head has a deadline and an idle connection a shorter life than
        # aiohttp's default, requests aiohttp's parser refuses are answered without echoing
        # them, and a request in flight at SIGTERM gets its body.
        runner = Runner(
            app,
            head_timeout=settings.request_header_timeout_seconds,
            keepalive_timeout=settings.keepalive_timeout_seconds,
            handle_signals=False,
            access_log=ACCESS_LOG,
            access_log_class=AccessLogger,
        )
        await runner.setup()
        try:
            await web.SockSite(runner, sock).start()
            await stop.wait()
            accepted = _stop_accepting(loop, sock, runner.server)
            await asyncio.sleep(SHUTDOWN_GRACE_SECONDS)
            await asyncio.gather(*accepted, return_exceptions=True)
        finally:
            await runner.cleanup()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


def _stop_accepting(
    loop: asyncio.AbstractEventLoop, sock: socket.socket, factory: Any
) -> list[asyncio.Task[Any]]:
    """Accept what is queued, then refuse what comes: with no await in between, no connection
    is left in the queue to be reset when the socket closes."""
    loop.remove_reader(sock.fileno())
    tasks = []
    while True:
        try:
            conn, _ = sock.accept()
        except (BlockingIOError, InterruptedError):
            break
        conn.setblocking(False)
        tasks.append(loop.create_task(loop.connect_accepted_socket(factory, conn)))
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)  # a listening socket: new connections are refused
    return tasks


async def _answers(db: Database) -> bool:
    try:
        await db.ping()
    except StorageUnavailable:
        return False
    return True


async def _wait_for_database(settings: Settings, sock: socket.socket, stop: asyncio.Event) -> bool:
    """True once the database answers (at once for SQLite, whose problems are the
    configuration's); False when told to stop first. Meanwhile serve the standby app."""
    if settings.database_url.startswith("sqlite:"):
        return True
    db = await open_database(settings.database_url, pool_size=1)
    try:
        if await _answers(db):
            return True
        log.info("waiting for the database (GET /ready answers 503 until it answers)")
        runner = Runner(
            create_standby_app(),
            head_timeout=settings.request_header_timeout_seconds,
            keepalive_timeout=settings.keepalive_timeout_seconds,
            handle_signals=False,
            access_log=None,
        )
        await runner.setup()
        try:
            await web.SockSite(runner, sock.dup()).start()
            delay = 0.25
            while not await _answers(db):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                if stop.is_set():
                    return False
                delay = min(delay * 2, STANDBY_MAX_RETRY_SECONDS)
        finally:
            await runner.cleanup()
        return True
    finally:
        await db.close()
