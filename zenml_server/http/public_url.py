"""The server's public base URL when ZENML_SERVER_URL is unset: the one a request came to.

The ``Host`` header is the client's to choose, so it is checked before it goes into any URL
we hand out: a DNS name, an IPv4 address or a bracketed IPv6 address, with an optional port
from 1 to 65535. Anything else is 400 (invalid_request on OAuth endpoints), before any work.
"""

from __future__ import annotations

import ipaddress
import re

from aiohttp import web

from zenml_server.http.errors import ApiError

_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,252})")


def _valid_port(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 5 and 1 <= int(text) <= 65535


def valid_host(host: str) -> bool:
    """True when ``host`` (a Host header value) is ``name[:port]`` or ``[ipv6][:port]``."""
    if host.startswith("["):
        address, bracket, rest = host[1:].partition("]")
        if not bracket:
            return False
        try:
            ipaddress.IPv6Address(address)
        except ValueError:
            return False
        return rest == "" or (rest.startswith(":") and _valid_port(rest[1:]))
    name, colon, port = host.partition(":")
    if colon and not _valid_port(port):
        return False
    return _NAME.fullmatch(name) is not None


def request_origin(request: web.Request) -> str:
    """``scheme://host[:port]`` of this request; 400 when its Host header names no host."""
    if valid_host(request.host):
        try:
            return str(request.url.origin())
        except ValueError:
            pass
    raise ApiError("the Host header does not name a host")
