"""Authentication of API requests: the bearer credential in, a Principal out."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from aiohttp import web

from zenml_server.domain.errors import CredentialLocked, InvalidCredentials
from zenml_server.domain.models import Principal
from zenml_server.http.errors import ForbiddenError, Unauthorized
from zenml_server.http.keys import CLIENT_IP, PRINCIPAL, SERVICES, SETTINGS
from zenml_server.settings import Network

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def bearer_token(request: web.Request) -> str | None:
    """The bearer credential, or None. RFC 6750 §2.1 tokens are printable ASCII; anything
    else (bytes that are not UTF-8 arrive as lone surrogates) is no credential at all."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    if not (token.isascii() and token.isprintable()):
        return None
    return token


async def require_principal(request: web.Request) -> Principal:
    """The authenticated caller; 401 with ``WWW-Authenticate: Bearer`` otherwise."""
    cached: Principal | None = request.get(PRINCIPAL)
    if cached is not None:
        return cached
    token = bearer_token(request)
    if token is None:
        raise Unauthorized("not authenticated", headers=_CHALLENGE)
    try:
        principal: Principal = await request.app[SERVICES].wiring.auth.authenticate(token)
    except CredentialLocked as exc:
        raise Unauthorized(exc.message, headers=_CHALLENGE) from None
    except InvalidCredentials:
        raise Unauthorized("not authenticated", headers=_CHALLENGE) from None
    request[PRINCIPAL] = principal
    return principal


async def require_admin(request: web.Request) -> Principal:
    principal = await require_principal(request)
    if not principal.is_admin:
        raise ForbiddenError("this needs an administrator")
    return principal


def client_ip(request: web.Request) -> str:
    """The client's address, as walked through X-Forwarded-For (see ``walk_forwarded_for``).

    Everything that records or shows an address (devices, the approval page, rate limits,
    the access log) uses this one value, never a client-chosen one.
    """
    cached: str | None = request.get(CLIENT_IP)
    if cached is not None:
        return cached
    peer = request.remote or ""
    trusted = request.app[SETTINGS].trusted_proxies
    walked = peer
    if trusted:
        walked = walk_forwarded_for(peer, request.headers.getall("X-Forwarded-For", []), trusted)
    request[CLIENT_IP] = walked
    return walked


# More hops than any real chain of proxies; a longer header is walked only this far.
_MAX_HOPS = 32


def walk_forwarded_for(peer: str, headers: Sequence[str], trusted: Sequence[Network]) -> str:
    """Walk X-Forwarded-For from the right, starting at the socket's peer, through trusted
    proxies only; the first hop that is not a trusted proxy is the client.

    Each hop was written by the proxy to its right, so a hop is believed only while every
    hop to its right is trusted. A hop that is not an address (garbage, or a chain longer
    than ``_MAX_HOPS``) ends the walk at the last address believed, the trusted proxy that
    received it. When every hop is trusted the leftmost is the client, itself a trusted
    host. Addresses come back in canonical form (``::ffff:1.2.3.4`` is ``1.2.3.4``).
    """
    current = _address(peer)
    if current is None:
        return peer
    hops = [hop.strip() for header in headers for hop in header.split(",")]
    for hop in reversed(hops[-_MAX_HOPS:]):
        if not any(current in net for net in trusted):
            break
        previous = _address(hop)
        if previous is None:
            break
        current = previous
    return str(current)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address from a hop: ``1.2.3.4``, ``1.2.3.4:port``, ``::1``, ``[::1]:port``."""
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr
