"""Trust policies of service accounts (admins only), and the token-exchange login grant
(RFC 8693) that uses them."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from authlib.oauth2.rfc6749.errors import InvalidGrantError, InvalidRequestError

from zenml_server.domain.clock import isoformat
from zenml_server.domain.errors import InvalidCredentials, ProviderUnavailable
from zenml_server.domain.federation import (
    TOKEN_EXCHANGE_GRANT,
    TOKEN_TYPE_ACCESS_TOKEN,
    TOKEN_TYPE_ID_TOKEN,
    TOKEN_TYPE_JWT,
    TrustPolicy,
)
from zenml_server.http.api.tokens import form_field, register_grant, token_response
from zenml_server.http.auth import client_ip, require_admin
from zenml_server.http.errors import ValidationFailed
from zenml_server.http.forms import optional_text, read_json, require_text
from zenml_server.http.keys import SERVICES
from zenml_server.services.oidc import MAX_TOKEN_LENGTH, JwtRejected
from zenml_server.services.trust_policies import (
    MAX_AUDIENCE_LENGTH,
    MAX_DESCRIPTION_LENGTH,
    TrustPolicies,
)

log = logging.getLogger("zenml_server.federation")
BASE = "/api/v1/service_accounts/{account}/trust_policies"
# One answer for every refused subject token: no hint of which policies exist.
REFUSED = "the subject token is not trusted"


def policy_json(policy: TrustPolicy) -> dict[str, Any]:
    return {
        "id": policy.id,
        "service_account": {
            "id": policy.service_account_id,
            "name": policy.service_account_name,
        },
        "issuer": policy.issuer,
        "audience": policy.audience,
        "claims": dict(policy.claims),
        "description": policy.description,
        "created": isoformat(policy.created),
    }


def _service(request: web.Request) -> TrustPolicies:
    return request.app[SERVICES].trust_policies


async def create_policy(request: web.Request) -> web.Response:
    await require_admin(request)
    body = await read_json(request)
    claims = body.get("claims")
    if not isinstance(claims, dict) or not all(isinstance(v, str) for v in claims.values()):
        raise ValidationFailed("the field 'claims' must be an object of strings")
    policy = await _service(request).add(
        request.match_info["account"],
        issuer=require_text(body, "issuer", max_length=512),
        audience=require_text(body, "audience", max_length=MAX_AUDIENCE_LENGTH),
        claims=claims,
        description=optional_text(body, "description", max_length=MAX_DESCRIPTION_LENGTH),
    )
    return web.json_response(policy_json(policy), status=201)


async def list_policies(request: web.Request) -> web.Response:
    await require_admin(request)
    policies = await _service(request).list(request.match_info["account"])
    items = [policy_json(p) for p in policies]
    return web.json_response({"items": items, "total": len(items), "page": 1, "size": len(items)})


async def get_policy(request: web.Request) -> web.Response:
    await require_admin(request)
    policy = await _service(request).find(
        request.match_info["account"], request.match_info["policy"]
    )
    return web.json_response(policy_json(policy))


async def delete_policy(request: web.Request) -> web.Response:
    await require_admin(request)
    await _service(request).remove(request.match_info["account"], request.match_info["policy"])
    return web.Response(status=204)


async def token_exchange_grant(request: web.Request, fields: dict[str, str]) -> web.Response:
    """RFC 8693 §2.1: a platform's OIDC token (a JWT) for a short-lived service-account token."""
    subject_token = form_field(fields, "subject_token", max_length=MAX_TOKEN_LENGTH)
    token_type = form_field(fields, "subject_token_type", max_length=128)
    if token_type not in (TOKEN_TYPE_JWT, TOKEN_TYPE_ID_TOKEN):
        raise InvalidRequestError(description="subject_token_type must be jwt or id_token")
    if fields.get("actor_token") or fields.get("actor_token_type"):
        raise InvalidRequestError(description="actor tokens (delegation) are not supported")
    requested = fields.get("requested_token_type")
    if requested and requested != TOKEN_TYPE_ACCESS_TOKEN:
        raise InvalidRequestError(description="only access tokens can be requested")
    try:
        issued = await request.app[SERVICES].token_exchange.exchange(
            subject_token, ip=client_ip(request)
        )
    except JwtRejected as exc:
        log.info("token exchange refused: %s", exc.reason)
        raise InvalidGrantError(description=REFUSED) from None
    except (InvalidCredentials, ProviderUnavailable) as exc:
        # A provider that cannot be reached refuses like any other failure: the client
        # learns nothing about which issuers are trusted.
        log.warning("token exchange refused: %s", exc.message)
        raise InvalidGrantError(description=REFUSED) from None
    return token_response(issued, issued_token_type=TOKEN_TYPE_ACCESS_TOKEN)


def setup(app: web.Application) -> None:
    register_grant(app, TOKEN_EXCHANGE_GRANT, token_exchange_grant)
    app.router.add_get(BASE, list_policies)
    app.router.add_post(BASE, create_policy)
    app.router.add_get(BASE + "/{policy}", get_policy)
    app.router.add_delete(BASE + "/{policy}", delete_policy)
