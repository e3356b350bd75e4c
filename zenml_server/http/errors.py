"""Every error a client can see, and how it is rendered (``middleware.py`` does the catching).

Three shapes, by where the request went:
- OAuth endpoints (RFC 6749 §5.2): ``{"error", "error_description"}``, Cache-Control no-store.
- The rest of the API: ``{"error": <code>, "detail": <sentence>, "request_id": <id>}``.
- Web pages: the ``error.html`` template.
No exception text or traceback reaches a client; an unexpected error is logged with the
request id, which the response also carries (``X-Request-ID``).
"""

from __future__ import annotations

import logging

import aiohttp_jinja2
from aiohttp import web
from authlib.oauth2.rfc6749.errors import OAuth2Error

from zenml_server.domain import errors as domain

log = logging.getLogger("zenml_server.http")

OAUTH_PATHS = frozenset(
    {
        "/api/v1/login",
        "/api/v1/device_authorization",
        "/api/v1/device_authorization/cancel",
        "/api/v1/revoke",
        "/api/v1/introspect",
    }
)
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": PAGE_CSP,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    **NO_STORE,
}
API_HEADERS = {"X-Content-Type-Options": "nosniff", **NO_STORE}


class ApiError(Exception):
    """An API error with its status and machine-readable code."""

    status = 400
    code = "bad_request"

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}


class ValidationFailed(ApiError):
    """The request body or a parameter is malformed or out of range."""

    status = 422
    code = "validation_error"


class Unauthorized(ApiError):
    """No credentials, or credentials that are not (or no longer) valid."""

    status = 401
    code = "unauthorized"


class ForbiddenError(ApiError):
    """The caller may not do this."""

    status = 403
    code = "forbidden"


class NotFoundError(ApiError):
    """No such resource (or one the caller may not know of)."""

    status = 404
    code = "not_found"


class ConflictError(ApiError):
    """A unique name is taken."""

    status = 409
    code = "conflict"


class PayloadTooLarge(ApiError):
    """The body is larger than ZENML_SERVER_MAX_REQUEST_SIZE."""

    status = 413
    code = "payload_too_large"


class RequestTimeout(ApiError):
    """The body did not arrive within ZENML_SERVER_REQUEST_BODY_TIMEOUT_SECONDS; the
    connection is closed."""

    status = 408
    code = "request_timeout"


class ClientClosed(Exception):
    """The client hung up before its request was read: nobody is left to answer."""


class UnsupportedMediaType(ApiError):
    """The body is not of the content type the endpoint takes."""

    status = 415
    code = "unsupported_media_type"


class TooManyRequests(ApiError):
    """A rate limit was reached; Retry-After says when to try again."""

    status = 429
    code = "rate_limited"


class ServiceUnavailable(ApiError):
    """The database does not answer; try again later."""

    status = 503
    code = "service_unavailable"


class InternalError(ApiError):
    """An unexpected error; the request id identifies it in the server log."""

    status = 500
    code = "internal_error"


_UNAUTHORIZED_HEADERS = {"WWW-Authenticate": "Bearer"}


def from_domain(exc: domain.DomainError) -> ApiError:
    """The API error a domain error becomes."""
    if isinstance(exc, domain.NotFound):
        return NotFoundError(exc.message)
    if isinstance(exc, domain.AlreadyExists):
        return ConflictError(exc.message)
    if isinstance(exc, domain.CredentialLocked):
        return Unauthorized(exc.message, headers=_UNAUTHORIZED_HEADERS)
    if isinstance(exc, domain.InvalidCredentials):
        return Unauthorized("not authenticated", headers=_UNAUTHORIZED_HEADERS)
    if isinstance(exc, domain.InvalidInput):
        return ValidationFailed(exc.message)
    if isinstance(exc, domain.NotPermitted):
        return ForbiddenError(exc.message)
    if isinstance(exc, domain.RateLimited):
        return TooManyRequests(exc.message, headers={"Retry-After": str(int(exc.retry_after) + 1)})
    if isinstance(exc, domain.StorageUnavailable):
        return ServiceUnavailable("the database is not available", headers={"Retry-After": "5"})
    return InternalError("unexpected error")


def from_http(exc: web.HTTPException) -> ApiError:
    if exc.status == 413:
        return PayloadTooLarge("request body too large")
    if exc.status == 404:
        return NotFoundError("no such endpoint")
    if exc.status == 405:
        # RFC 9110 §15.5.6: a 405 MUST say which methods the resource takes.
        err = ApiError("method not allowed", headers={"Allow": exc.headers.get("Allow", "")})
        err.status, err.code = 405, "method_not_allowed"
        return err
    err = ApiError(exc.reason or "bad request")
    err.status = exc.status
    return err


def oauth_description(text: str) -> str:
    """``text`` as an RFC 6749 §5.2 ``error_description`` may hold it (printable ASCII but
    ``"`` and ``\\``); anything else becomes ``?``."""
    return "".join(ch if " " <= ch <= "~" and ch not in '"\\' else "?" for ch in text)


def _oauth_body(exc: ApiError) -> tuple[int, dict[str, str]]:
    """RFC 6749 §5.2 body for a non-OAuth failure on an OAuth endpoint."""
    if exc.status in (415, 422):
        # One rule for every OAuth endpoint: a malformed request, wrong content type
        # included, is 400 invalid_request (RFC 6749 §5.2).
        return 400, {"error": "invalid_request", "error_description": oauth_description(exc.detail)}
    code = {
        401: "invalid_client",
        403: "access_denied",
        # RFC 6749 §4.1.2.1: a registered code that says "try again later" (with Retry-After).
        429: "temporarily_unavailable",
        503: "temporarily_unavailable",
        500: "server_error",
    }.get(exc.status, "invalid_request")
    return exc.status, {"error": code, "error_description": oauth_description(exc.detail)}


def area(path: str) -> str:
    if path in OAUTH_PATHS:
        return "oauth"
    if path.startswith(("/api/", "/.well-known/")) or path in ("/health", "/ready", "/metrics"):
        return "api"
    if path.startswith("/static/"):
        return "static"
    return "page"


async def allowed_methods(request: web.Request, fallback: str) -> str:
    """The methods of the first route whose path matches (aiohttp lists those of every
    matching route: ``/api/v1/devices/verify`` would claim the methods of
    ``/api/v1/devices/{device_id}`` too)."""
    for resource in request.app.router.resources():
        _, allowed = await resource.resolve(request)
        if allowed:
            return ",".join(sorted(allowed))
    return fallback


def render_oauth(exc: OAuth2Error) -> web.Response:
    status = 401 if exc.error == "invalid_client" else int(exc.status_code or 400)
    body = {"error": exc.error, "error_description": exc.description or exc.error}
    headers = dict(NO_STORE)
    retry_after = getattr(exc, "retry_after", None)
    if isinstance(retry_after, int | float):
        headers["Retry-After"] = str(int(retry_after) + 1)
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="zenml"'
    return web.json_response(body, status=status, headers=headers)


async def render(request: web.Request, exc: ApiError, request_id: str) -> web.StreamResponse:
    where = area(request.path)
    headers = dict(exc.headers)
    if where == "oauth":
        status, body = _oauth_body(exc)
        return web.json_response(body, status=status, headers={**headers, **NO_STORE})
    if where in ("page", "static"):
        response = await _error_page(request, exc, request_id)
        response.headers.update(headers)
        return response
    body = {"error": exc.code, "detail": exc.detail, "request_id": request_id}
    return web.json_response(body, status=exc.status, headers=headers)


async def _error_page(request: web.Request, exc: ApiError, request_id: str) -> web.Response:
    """The error page, with the navigation when a user is logged in (not for 5xx: the
    database may be what failed, and a broken page must not fail again)."""
    context = {
        "status": exc.status,
        "message": _page_message(exc),
        "request_id": request_id,
        "request": request,
    }
    if exc.status < 500:
        # Imported here: the pages import this module for their errors.
        from zenml_server.http.pages.render import render
        from zenml_server.http.pages.session import current_user

        try:
            user = await current_user(request)
        except domain.DomainError:
            user = None
        return render(request, "error.html", {**context, "user": user}, status=exc.status)
    response: web.Response = aiohttp_jinja2.render_template(
        "error.html", request, context, status=exc.status
    )
    return response


def _page_message(exc: ApiError) -> str:
    if exc.status == 404:
        return "This page does not exist."
    if exc.status == 503:
        return "The server cannot reach its database right now. Please try again shortly."
    if exc.status >= 500:
        return "Something went wrong on our side."
    return exc.detail
