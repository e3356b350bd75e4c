"""POST /api/v1/introspect: token introspection (RFC 7662) for other services.

The caller authenticates with a bearer credential: an admin, or a service account named in
``ZENML_SERVER_INTROSPECTION_SERVICE_ACCOUNTS``. Form ``token`` (``token_type_hint`` is not
needed). Answers are never cached.
"""

from __future__ import annotations

from aiohttp import web
from authlib.oauth2.rfc6749.errors import InvalidClientError

from zenml_server.http.api.token_revocation import MAX_TOKEN_LENGTH
from zenml_server.http.api.tokens import form_field, oauth_form
from zenml_server.http.auth import bearer_token, require_principal
from zenml_server.http.errors import NO_STORE, ForbiddenError
from zenml_server.http.keys import SERVICES


async def introspect(request: web.Request) -> web.Response:
    if bearer_token(request) is None:
        # RFC 7662 §2.1: the protected resource must authenticate.
        raise InvalidClientError(description="introspection needs a bearer credential")
    caller = await require_principal(request)
    introspection = request.app[SERVICES].introspection
    if not introspection.may_introspect(caller):
        raise ForbiddenError("this needs an administrator or a service account allowed to")
    fields = await oauth_form(request)
    token = form_field(fields, "token", max_length=MAX_TOKEN_LENGTH)
    return web.json_response(await introspection.introspect(token), headers=NO_STORE)


def setup(app: web.Application) -> None:
    app.router.add_post("/api/v1/introspect", introspect)
