"""POST /api/v1/login: one token endpoint, a handler per grant type (RFC 6749 §4, RFC 8628)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from authlib.oauth2.rfc6749.errors import (
    InvalidGrantError,
    InvalidRequestError,
    OAuth2Error,
    UnsupportedGrantTypeError,
)

from zenml_server.domain.errors import InvalidCredentials
from zenml_server.http.auth import client_ip
from zenml_server.http.errors import NO_STORE, ApiError, oauth_description
from zenml_server.http.forms import read_form
from zenml_server.http.keys import GRANTS, SERVICES, GrantHandler
from zenml_server.services.tokens import IssuedToken

PASSWORD_GRANT = "password"  # noqa: S105 - a grant type name, not a secret
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
# Extension grants are absolute URIs (RFC 6749 §4.5). ZenML clients send the old spelling,
# which keeps working (and is not advertised).
API_KEY_GRANT = "urn:zenml:params:oauth:grant-type:api-key"
LEGACY_API_KEY_GRANT = "zenml-api-key"
_GRANT_ALIASES = {LEGACY_API_KEY_GRANT: API_KEY_GRANT}


def register_grant(app: web.Application, grant_type: str, handler: GrantHandler) -> None:
    """Make ``handler`` answer token requests with this ``grant_type``."""
    app[GRANTS][grant_type] = handler


def token_response(issued: IssuedToken, **extra: Any) -> web.Response:
    """RFC 6749 §5.1 success body, never cached."""
    body = {
        "access_token": issued.access_token,
        "token_type": "bearer",
        "expires_in": issued.expires_in,
        **extra,
    }
    return web.json_response(body, headers=NO_STORE)


def form_field(fields: dict[str, str], name: str, *, max_length: int = 1024) -> str:
    """A required OAuth parameter; invalid_request when missing or oversized."""
    value = fields.get(name)
    if not value:
        raise InvalidRequestError(description=f"missing parameter: {name}")
    if len(value) > max_length:
        raise InvalidRequestError(description=f"parameter too long: {name}")
    return value


async def oauth_form(request: web.Request) -> dict[str, str]:
    """The form of a request to an OAuth endpoint. RFC 6749 §5.2: anything malformed, a
    wrong content type included, is 400 invalid_request; an oversized body keeps 413 and a
    stalled one 408 (in the same RFC 6749 body shape)."""
    try:
        return await read_form(request)
    except ApiError as exc:
        if exc.status in (408, 413):
            raise
        raise InvalidRequestError(description=oauth_description(exc.detail)) from None


async def login(request: web.Request) -> web.Response:
    fields = await oauth_form(request)
    grant_type = fields.get("grant_type") or PASSWORD_GRANT
    grant_type = _GRANT_ALIASES.get(grant_type, grant_type)
    handler = request.app[GRANTS].get(grant_type)
    if handler is None:
        error = UnsupportedGrantTypeError(grant_type[:64])
        error.description = "this grant_type is not supported"
        raise error
    # Counted for /metrics by kind and outcome; the kind is a known grant, never client text.
    events = request.app[SERVICES].wiring.events
    kind = _LOGIN_KINDS.get(grant_type, "other")
    try:
        response = await handler(request, fields)
    except OAuth2Error as exc:
        events.inc("login", f"{kind}:{exc.error}")
        raise
    except Exception:
        events.inc("login", f"{kind}:error")
        raise
    events.inc("login", f"{kind}:success")
    return response


_LOGIN_KINDS = {
    PASSWORD_GRANT: "password",
    DEVICE_CODE_GRANT: "device_code",
    API_KEY_GRANT: "api_key",
    "urn:ietf:params:oauth:grant-type:token-exchange": "token_exchange",
}


async def password_grant(request: web.Request, fields: dict[str, str]) -> web.Response:
    """RFC 6749 §4.3: username and password for a user token."""
    username = form_field(fields, "username", max_length=128)
    password = form_field(fields, "password")
    users = request.app[SERVICES].users
    try:
        user = await users.authenticate(username, password, ip=client_ip(request))
    except InvalidCredentials:
        raise InvalidGrantError(description="invalid username or password") from None
    return token_response(users.issue_token(user))


def setup(app: web.Application) -> None:
    grants: dict[str, GrantHandler] = {PASSWORD_GRANT: password_grant}
    app[GRANTS] = grants
    app.router.add_post("/api/v1/login", login)
