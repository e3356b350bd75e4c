"""POST /api/v1/revoke: token revocation (RFC 7009).

Form ``token`` (and optionally ``token_type_hint``, which is not needed: the token says what
it is). Always 200 when the request is well formed (§2.2), whether or not anything was
revoked. Without an ``Authorization`` header, holding the token is enough (public clients);
with one, only the caller's own tokens are revoked.
"""

from __future__ import annotations

from aiohttp import web

from zenml_server.domain.models import Principal
from zenml_server.http.api.tokens import form_field, oauth_form
from zenml_server.http.auth import bearer_token, require_principal
from zenml_server.http.errors import NO_STORE
from zenml_server.http.keys import SERVICES

MAX_TOKEN_LENGTH = 4096


async def revoke(request: web.Request) -> web.Response:
    fields = await oauth_form(request)
    token = form_field(fields, "token", max_length=MAX_TOKEN_LENGTH)
    caller: Principal | None = None
    if bearer_token(request) is not None:
        caller = await require_principal(request)
    await request.app[SERVICES].token_revocation.revoke(token, caller=caller)
    return web.Response(status=200, headers=NO_STORE)


def setup(app: web.Application) -> None:
    app.router.add_post("/api/v1/revoke", revoke)
