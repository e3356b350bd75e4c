"""One-time messages carried across a post/redirect/get, including a new API key.

A form POST that changes something answers with a redirect; what the next page must show
once (a notice, an error, a key that is shown only this once) travels in a short-lived
cookie, encrypted and authenticated (AES-GCM under a key derived from the server's secret),
scoped to the page's path, HttpOnly and SameSite=Strict. The GET that shows it deletes it, so
a reload shows nothing and, above all, never repeats the POST. Nothing is kept in server
memory, so the redirect may land on any replica.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from typing import Any

from aiohttp import web
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from zenml_server.http.keys import CLOCK, SERVICES
from zenml_server.http.pages.session import write_cookie

COOKIE = "zenml_flash"
LIFETIME_SECONDS = 120
_AAD = b"zenml-page-flash-v1"
_MAX_COOKIE = 4096


def _cipher(request: web.Request) -> AESGCM:
    key_hex: str = request.app[SERVICES].wiring.tokens.mac("page-flash", "aes-256-gcm")
    return AESGCM(bytes.fromhex(key_hex))


def set_flash(
    request: web.Request, response: web.StreamResponse, path: str, message: dict[str, Any]
) -> None:
    """Attach ``message`` to ``response`` for the next page under ``path``."""
    body = json.dumps({**message, "exp": request.app[CLOCK].now() + LIFETIME_SECONDS})
    nonce = os.urandom(12)
    sealed = nonce + _cipher(request).encrypt(nonce, body.encode(), _AAD)
    write_cookie(
        request,
        response,
        COOKIE,
        base64.urlsafe_b64encode(sealed).decode().rstrip("="),
        samesite="Strict",
        path=path,
        max_age=LIFETIME_SECONDS,
    )


def read_flash(request: web.Request) -> dict[str, Any] | None:
    """The message left for this page, or None (also when forged, garbled or too old)."""
    raw = request.cookies.get(COOKIE)
    if not raw or len(raw) > _MAX_COOKIE:
        return None
    try:
        sealed = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        body = _cipher(request).decrypt(sealed[:12], sealed[12:], _AAD)
        message = json.loads(body)
    except (binascii.Error, ValueError, InvalidTag):
        return None
    if not isinstance(message, dict) or float(message.get("exp", 0)) < request.app[CLOCK].now():
        return None
    return message


def clear_flash(request: web.Request, response: web.StreamResponse, path: str) -> None:
    """Delete the message from the browser once a page has shown it."""
    if COOKIE in request.cookies:
        response.del_cookie(COOKIE, path=path)
