"""Authentication of API requests: the bearer credential in, a Principal out."""

from __future__ import annotations

import ipaddress

from aiohttp import web

from zenml_server.domain.errors import CredentialLocked, InvalidCredentials
from zenml_server.domain.models import Principal
from zenml_server.http.errors import ForbiddenError, Unauthorized
from zenml_server.http.keys import PRINCIPAL, SERVICES, SETTINGS

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


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
    """The client's address; X-Forwarded-For is believed only from trusted proxies.

    Walks the chain from the nearest hop back and stops at the first untrusted address.
    """
    peer = request.remote or ""
    trusted = request.app[SETTINGS].trusted_proxies
    if not trusted:
        return peer
    chain = [
        hop.strip()
        for header in request.headers.getall("X-Forwarded-For", [])
        for hop in header.split(",")
        if hop.strip()
    ]
    hops = [*chain, peer]  # [client, proxy1, ..., peer]
    for hop in reversed(hops):
        try:
            addr = ipaddress.ip_address(hop)
        except ValueError:
            return peer  # a garbled chain: believe only the socket
        if not any(addr in net for net in trusted):
            return hop
    return hops[0]
