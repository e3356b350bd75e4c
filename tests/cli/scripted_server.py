"""A stdlib HTTP server that answers a fixed script of responses, for protocol-edge tests.

The real server cannot be told to answer ``slow_down`` or ``503`` on cue; this one can. It runs
on a real socket so the CLI's HTTP code is exercised unchanged.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Scripted:
    url: str
    answers: list[tuple[int, Any]]
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)


@contextmanager
def scripted_server(answers: list[tuple[int, Any]]) -> Iterator[Scripted]:
    """Serve ``answers`` in order, one per request; record (method, path, headers) of each."""
    state = Scripted(url="", answers=list(answers))

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            state.requests.append((self.command, self.path, dict(self.headers.items())))
            status, body = state.answers.pop(0) if state.answers else (500, {"error": "script"})
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _answer

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
