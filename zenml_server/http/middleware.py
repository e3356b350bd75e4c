"""The one middleware every request goes through.

It gives the request its id and audit scope, renders every error in the shape of the area it
happened in (``errors.py``), adds the security headers, and counts the request by route
template and status for /metrics (``metrics.py``). One middleware rather than a chain: each
layer aiohttp adds costs an extra coroutine per request on the hot path.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from authlib.oauth2.rfc6749.errors import OAuth2Error

from zenml_server.domain import errors as domain
from zenml_server.domain.audit import enter_scope
from zenml_server.http.errors import (
    API_HEADERS,
    PAGE_HEADERS,
    ApiError,
    ClientClosed,
    InternalError,
    ValidationFailed,
    allowed_methods,
    area,
    from_domain,
    from_http,
    render,
    render_oauth,
)
from zenml_server.http.keys import AUDIT_SCOPE, METRICS, REQUEST_ID
from zenml_server.http.metrics import CLIENT_CLOSED, route_of

log = logging.getLogger("zenml_server.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def request_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer ``request`` through ``handler``; see the module's docstring."""
    started = time.perf_counter()
    metrics = request.app[METRICS]
    request_id = metrics.next_request_id()
    request[REQUEST_ID] = request_id
    # Events recorded while handling this request name its caller, address and id.
    enter_scope(functools.partial(request.app[AUDIT_SCOPE], request))
    status = CLIENT_CLOSED  # unless an answer is made: the request was cancelled
    try:
        try:
            if "%00" in request.raw_path:
                # No name, id or filter may hold a NUL (PostgreSQL text cannot store one).
                raise ValidationFailed("the URL holds a NUL character")
            response = await handler(request)
        except web.HTTPException as exc:
            if exc.status == 405:
                exc.headers["Allow"] = await allowed_methods(request, exc.headers.get("Allow", ""))
            if exc.status < 400:  # a redirect: aiohttp sends it as raised
                status = exc.status
                exc.headers.update(PAGE_HEADERS if area(request.path) == "page" else API_HEADERS)
                raise
            response = await render(request, from_http(exc), request_id)
        except OAuth2Error as exc:
            response = render_oauth(exc)
        except ApiError as exc:
            response = await render(request, exc, request_id)
        except domain.DomainError as exc:
            response = await render(request, from_domain(exc), request_id)
        except ClientClosed:
            # Not an error of ours: nobody reads this answer; 499 as nginx logs it.
            log.info("request %s: the client closed the connection mid-request", request_id)
            response = web.Response(status=CLIENT_CLOSED)
        except Exception:
            log.exception("unexpected error (request_id=%s)", request_id)
            response = await render(request, InternalError("unexpected error"), request_id)
        status = response.status
        if status == 408:
            response.force_close()  # the rest of a stalled body may still be on its way
        where = area(request.path)
        if where == "page" or (where == "static" and status >= 400):
            response.headers.update(PAGE_HEADERS)
        elif where != "static":
            response.headers.update(API_HEADERS)
        response.headers["X-Request-ID"] = request_id
        return response
    finally:
        metrics.observe(request.method, route_of(request), status, time.perf_counter() - started)
