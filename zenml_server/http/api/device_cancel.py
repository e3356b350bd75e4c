"""``POST /api/v1/device_authorization/cancel``: a CLI withdraws its own pending device login.

RFC 8628 has no way for a device to give up; without one, a code printed in a terminal that
was closed (Ctrl-C, ``--timeout``) stays approvable until it expires, and someone who saw it
could still approve it. The client proves it owns the authorization with its ``client_id``
and ``device_code`` (≥ 256 random bits), as when it polls. Always 200, like RFC 7009
revocation: nothing tells a caller whether a code existed.
"""

from __future__ import annotations

from aiohttp import web

from zenml_server.http.api.tokens import form_field, oauth_form
from zenml_server.http.auth import client_ip
from zenml_server.http.errors import NO_STORE
from zenml_server.http.keys import SERVICES
from zenml_server.services.device_flow import MAX_CLIENT_ID_LENGTH

CANCEL_PATH = "/api/v1/device_authorization/cancel"


async def cancel_authorization(request: web.Request) -> web.Response:
    """200 whether or not there was a pending authorization to cancel (idempotent)."""
    fields = await oauth_form(request)
    client_id = form_field(fields, "client_id", max_length=MAX_CLIENT_ID_LENGTH)
    device_code = form_field(fields, "device_code", max_length=256)
    await request.app[SERVICES].device_flow.cancel(client_id, device_code, client_ip(request))
    return web.Response(status=200, headers=NO_STORE)


def setup(app: web.Application) -> None:
    app.router.add_post(CANCEL_PATH, cancel_authorization)
