"""Which devices were approved in this browser, for the "approved in this browser" mark.

"Same IP as you" cannot tell apart the machines behind one address, so when the approval page
authorizes a device its answer also sets a cookie listing the ids of the devices approved in
this browser: the newest ``MAX_DEVICES``, newest first. Device ids are not secret and nothing
else is kept (never a code or a token). The list carries an HMAC under the server's secret, so
an edited cookie is ignored as a whole. It is HttpOnly, SameSite=Lax, ``__Host-`` and Secure
over https, and lives as long as browsers allow (400 days). The pages mark only devices of the
logged-in user, so a cookie left by another account in the same browser marks nothing.
"""

from __future__ import annotations

import hmac
import re

from aiohttp import web

from zenml_server.http.keys import SERVICES
from zenml_server.http.pages.session import cookie_name, read_cookie, write_cookie

COOKIE = "zenml_approved_here"
MAX_DEVICES = 20
# The longest lifetime browsers grant a cookie (RFC 6265bis caps Max-Age at 400 days).
MAX_AGE_SECONDS = 400 * 24 * 3600
_PURPOSE = "approved-here-cookie"
_SEPARATOR = "."  # in neither a device id nor the hex HMAC
_DEVICE_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_MAX_COOKIE_LENGTH = MAX_DEVICES * 37 + 64


def _mac(request: web.Request, ids: str) -> str:
    mac: str = request.app[SERVICES].wiring.tokens.mac(_PURPOSE, ids)
    return mac


def approved_here(request: web.Request) -> tuple[str, ...]:
    """The ids of the devices approved in this browser, newest first; none when the cookie is
    missing, malformed or not signed by this server."""
    value = read_cookie(request, COOKIE, _MAX_COOKIE_LENGTH)
    if value is None:
        return ()
    ids, _, mac = value.rpartition(_SEPARATOR)
    if not ids or not hmac.compare_digest(_mac(request, ids).encode(), mac.encode()):
        return ()
    listed = tuple(ids.split(_SEPARATOR))
    if len(listed) > MAX_DEVICES or not all(_DEVICE_ID.fullmatch(i) for i in listed):
        return ()
    return listed


def remember_approved(request: web.Request, response: web.StreamResponse, device_id: str) -> None:
    """Put ``device_id`` first in this browser's list, keeping the newest ``MAX_DEVICES``."""
    if not _DEVICE_ID.fullmatch(device_id):
        return
    earlier = [i for i in approved_here(request) if i != device_id]
    ids = _SEPARATOR.join([device_id, *earlier][:MAX_DEVICES])
    write_cookie(
        request,
        response,
        cookie_name(request, COOKIE),
        f"{ids}{_SEPARATOR}{_mac(request, ids)}",
        samesite="Lax",
        max_age=MAX_AGE_SECONDS,
    )
