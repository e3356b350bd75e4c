"""Who acts in a request, for the audit trail: the authenticated principal (and through which
credential), or the browser session's user, the client address and the request id.

Set once per request by the error middleware as a resolver, worked out only when a service
records an event.
"""

from __future__ import annotations

from aiohttp import web

from zenml_server.domain.audit import ANONYMOUS, Actor, AuditScope
from zenml_server.domain.models import Principal, PrincipalKind
from zenml_server.http.auth import client_ip
from zenml_server.http.keys import PRINCIPAL, REQUEST_ID
from zenml_server.http.pages.session import known_user


def actor_for(principal: Principal) -> Actor:
    """The audit actor of an authenticated principal."""
    if principal.kind is PrincipalKind.DEVICE:
        return Actor("device", principal.id, principal.name, f"device:{principal.device_id}")
    if principal.kind is PrincipalKind.SERVICE_ACCOUNT:
        return Actor(
            "service_account", principal.id, principal.name, f"api_key:{principal.api_key_id}"
        )
    return Actor("user", principal.id, principal.name, "token")


def request_scope(request: web.Request) -> AuditScope:
    principal = request.get(PRINCIPAL)
    if principal is not None:
        actor = actor_for(principal)
    else:
        user = known_user(request)
        actor = ANONYMOUS if user is None else Actor("user", user.id, user.name, "session")
    return AuditScope(actor, client_ip(request), request.get(REQUEST_ID))
