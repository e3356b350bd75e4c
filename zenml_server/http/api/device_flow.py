"""The device authorization grant over HTTP (RFC 8628) and discovery (RFC 8414), plus
approving a device through the API.

- ``POST /api/v1/device_authorization`` (form ``client_id``): codes for a CLI.
- ``POST /api/v1/login`` with ``grant_type=urn:ietf:params:oauth:grant-type:device_code``.
- ``GET /.well-known/oauth-authorization-server``: where all of the above live.
- ``PUT /api/v1/devices/{id}/verify`` and ``POST /api/v1/devices/verify`` (JSON
  ``{user_code, trusted_device}``): a logged-in user approves a device.
- ``POST /api/v1/devices/verify/preview`` (JSON ``{user_code}``): what ``approve`` shows
  before asking (who approves, what the device reports, both addresses, seen before).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from authlib.oauth2.rfc6749.errors import (
    AccessDeniedError,
    InvalidGrantError,
    InvalidRequestError,
    OAuth2Error,
)
from authlib.oauth2.rfc8628.errors import (
    AuthorizationPendingError,
    ExpiredTokenError,
    SlowDownError,
)

from zenml_server.domain.clock import isoformat
from zenml_server.domain.errors import InvalidInput
from zenml_server.domain.models import Device
from zenml_server.http.api.tokens import (
    DEVICE_CODE_GRANT,
    form_field,
    oauth_form,
    register_grant,
    token_response,
)
from zenml_server.http.auth import client_ip, require_principal
from zenml_server.http.errors import (
    NO_STORE,
    ApiError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
)
from zenml_server.http.forms import optional_bool, read_json, require_text
from zenml_server.http.keys import GRANTS, SERVICES, SETTINGS
from zenml_server.http.public_url import request_origin
from zenml_server.services.approval_rules import ApprovalFacts, via_for
from zenml_server.services.approvals import CodeProblem, CodeRefused
from zenml_server.services.device_flow import (
    MAX_CLIENT_ID_LENGTH,
    PollError,
    PollRefused,
)
from zenml_server.storage.devices import DeviceMetadata

VERIFY_PATH = "/devices/verify"
_MAX_METADATA_LENGTH = 255
_POLL_ERRORS: dict[PollError, type[OAuth2Error]] = {
    PollError.INVALID_GRANT: InvalidGrantError,
    PollError.EXPIRED_TOKEN: ExpiredTokenError,
    PollError.SLOW_DOWN: SlowDownError,
    PollError.ACCESS_DENIED: AccessDeniedError,
    PollError.AUTHORIZATION_PENDING: AuthorizationPendingError,
}
_USER_AGENT_KEYS = {
    "Host": "hostname",
    "ZenML": "client_version",
    "Python": "python_version",
    "OS": "os",
}


def device_json(device: Device) -> dict[str, Any]:
    """The Device JSON shape of the API (``#/components/schemas/Device``)."""
    user = None
    if device.user_id is not None:
        user = {"id": device.user_id, "name": device.user_name}
    return {
        "id": device.id,
        "client_id": device.client_id,
        "status": device.status.value,
        "trusted_device": device.trusted_device,
        "expires": isoformat(device.expires),
        "created": isoformat(device.created),
        "updated": isoformat(device.updated),
        "last_login": isoformat(device.last_login),
        "hostname": device.hostname,
        "os": device.os,
        "python_version": device.python_version,
        "client_version": device.client_version,
        "ip_address": device.ip_address,
        "user": user,
        "failed_auth_attempts": device.failed_auth_attempts,
        "client_name": device.client_name,
        "approved_via": None if device.approved_via is None else device.approved_via.value,
        "approved_by_device_id": device.approved_by_device_id,
        "locked_by": None if device.locked_by is None else device.locked_by.value,
        "locked_because_of": device.locked_because_of,
    }


def facts_json(facts: ApprovalFacts) -> dict[str, Any]:
    """The ApprovalPreview JSON shape: the device and what to check before approving."""
    return {
        "device": device_json(facts.device),
        "approver": facts.approver_name,
        "requested_from": facts.requested_from,
        "approver_address": facts.approver_address,
        "addresses_differ": facts.addresses_differ,
        "seen_before": facts.seen_before,
    }


def code_error(exc: CodeRefused) -> ApiError:
    """The API error for a user code that cannot be approved."""
    if exc.problem is CodeProblem.WRONG:
        return NotFoundError(exc.message)
    if exc.problem is CodeProblem.LOCKED:
        return ForbiddenError(exc.message)
    if exc.problem is CodeProblem.USED:
        return ConflictError(exc.message)
    return ApiError(exc.message)  # expired: 400 bad_request


def device_metadata(user_agent: str, ip: str) -> DeviceMetadata:
    """Parse ``[<client>/<v>] Host/<h> ZenML/<v> Python/<v> OS/<os>``.

    The client's name is the first other ``name/version`` part (our CLI sends
    ``zenml-cli/<v>``), else ``ZenML <v>`` (the ZenML client sends only the four known parts).
    """
    found: dict[str, str] = {}
    client_name = None
    for part in user_agent.split():
        key, sep, value = part.partition("/")
        value = "".join(ch for ch in value if ch.isprintable())[:_MAX_METADATA_LENGTH]
        key = "".join(ch for ch in key if ch.isprintable())[:64]
        if not (sep and key and value):
            continue
        field = _USER_AGENT_KEYS.get(key)
        if field is None:
            client_name = client_name or f"{key} {value}"
        elif field not in found:
            found[field] = value
    if client_name is None and "client_version" in found:
        client_name = f"ZenML {found['client_version']}"
    return DeviceMetadata(ip_address=ip, client_name=client_name, **found)


def base_url(request: web.Request) -> str:
    """The public base URL: ZENML_SERVER_URL, else the one this request came to."""
    configured = request.app[SETTINGS].url
    return configured or request_origin(request)


async def device_authorization(request: web.Request) -> web.Response:
    """RFC 8628 §3.1-3.2."""
    fields = await oauth_form(request)
    client_id = form_field(fields, "client_id", max_length=MAX_CLIENT_ID_LENGTH)
    base = base_url(request)  # before anything is written: a bad Host header is a 400
    metadata = device_metadata(request.headers.get("User-Agent", ""), client_ip(request))
    try:
        authorization = await request.app[SERVICES].device_flow.authorize(client_id, metadata)
    except InvalidInput as exc:
        raise InvalidRequestError(description=exc.message) from None
    query = urlencode({"device_id": authorization.device.id, "user_code": authorization.user_code})
    body = {
        "device_code": authorization.device_code,
        "user_code": authorization.user_code,
        "verification_uri": base + VERIFY_PATH,
        "verification_uri_complete": f"{base}{VERIFY_PATH}?{query}",
        "expires_in": authorization.expires_in,
        "interval": authorization.interval,
    }
    return web.json_response(body, headers=NO_STORE)


class _SlowDownFor(SlowDownError):  # type: ignore[misc]
    """slow_down (RFC 8628 §3.5, HTTP 400 as its clients expect) with a Retry-After."""

    def __init__(self, description: str, retry_after: float) -> None:
        super().__init__(description=description)
        self.retry_after = retry_after


async def device_code_grant(request: web.Request, fields: dict[str, str]) -> web.Response:
    """RFC 8628 §3.4-3.5: the token, once the user approved."""
    client_id = form_field(fields, "client_id", max_length=MAX_CLIENT_ID_LENGTH)
    device_code = form_field(fields, "device_code", max_length=256)
    flow = request.app[SERVICES].device_flow
    try:
        issued, device = await flow.poll(client_id, device_code, ip=client_ip(request))
    except PollRefused as exc:
        if exc.retry_after is not None:
            raise _SlowDownFor(exc.message, exc.retry_after) from None
        raise _POLL_ERRORS[exc.error](description=exc.message) from None
    return token_response(issued, device_id=device.id)


async def server_metadata(request: web.Request) -> web.Response:
    """RFC 8414 §3.2.

    ``issuer`` is the ``iss`` of every token this server issues: ZENML_SERVER_URL, else a
    value derived from the listening address, never a request's Host header. Extension
    grants are absolute URIs (RFC 6749 §4.5); the old ``zenml-api-key`` spelling still works
    but is not advertised. No authorization endpoint is served, so the only response type
    is ``none`` (no grant here goes through one).
    """
    base = base_url(request)
    body = {
        "issuer": request.app[SETTINGS].issuer,
        "token_endpoint": f"{base}/api/v1/login",
        "device_authorization_endpoint": f"{base}/api/v1/device_authorization",
        "revocation_endpoint": f"{base}/api/v1/revoke",
        "introspection_endpoint": f"{base}/api/v1/introspect",
        "jwks_uri": f"{base}/.well-known/jwks.json",
        "grant_types_supported": sorted(request.app[GRANTS].keys()),
        "token_endpoint_auth_methods_supported": ["none"],
        "revocation_endpoint_auth_methods_supported": ["none"],
        "introspection_endpoint_auth_methods_supported": ["bearer"],
        "response_types_supported": ["none"],
    }
    return web.json_response(body)


async def _approve(request: web.Request, device_id: str | None) -> web.Response:
    principal = await require_principal(request)
    via = via_for(principal.kind)  # NotPermitted (403) for a service account
    body = await read_json(request)
    user_code = require_text(body, "user_code", max_length=64)
    trusted = optional_bool(body, "trusted_device") is True
    try:
        device = await request.app[SERVICES].approvals.decide(
            principal.id,
            user_code,
            device_id=device_id,
            ip=client_ip(request),
            approve=True,
            trusted=trusted,
            via=via,
            by_device_id=principal.device_id,
        )
    except CodeRefused as exc:
        raise code_error(exc) from None
    return web.json_response(device_json(device))


async def preview_by_code(request: web.Request) -> web.Response:
    """What ``zenml authorized-device approve`` shows before it asks y/N."""
    principal = await require_principal(request)
    via_for(principal.kind)
    body = await read_json(request)
    user_code = require_text(body, "user_code", max_length=64)
    try:
        facts = await request.app[SERVICES].approvals.preview(
            principal.id,
            user_code,
            device_id=None,
            ip=client_ip(request),
            user_name=principal.name,
        )
    except CodeRefused as exc:
        raise code_error(exc) from None
    return web.json_response(facts_json(facts), headers=NO_STORE)


async def verify_device(request: web.Request) -> web.Response:
    return await _approve(request, request.match_info["device_id"])


async def verify_by_code(request: web.Request) -> web.Response:
    return await _approve(request, None)


def setup(app: web.Application) -> None:
    register_grant(app, DEVICE_CODE_GRANT, device_code_grant)
    app.router.add_post("/api/v1/device_authorization", device_authorization)
    app.router.add_get("/.well-known/oauth-authorization-server", server_metadata)
    app.router.add_post("/api/v1/devices/verify", verify_by_code)
    app.router.add_post("/api/v1/devices/verify/preview", preview_by_code)
    app.router.add_put("/api/v1/devices/{device_id}/verify", verify_device)
