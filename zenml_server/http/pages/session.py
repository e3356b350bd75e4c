"""Browser sessions and CSRF protection for the server-rendered pages.

- Session: a random cookie value; the database keeps only its digest. HttpOnly,
  SameSite=Lax, Secure whenever the server is reached over https.
- CSRF: signed double submit. A random ``zenml_csrf`` cookie, and in every form a token that
  is an HMAC of it under the server's secret; a POST must carry both and they must match.
  Works before login (the login form) and needs no server-side state.
"""

from __future__ import annotations

import hmac
from urllib.parse import quote

from aiohttp import web

from zenml_server.domain.models import User
from zenml_server.domain.secrets import digest, new_token
from zenml_server.http.errors import ForbiddenError
from zenml_server.http.keys import CLOCK, SERVICES, SETTINGS, STORE

SESSION_COOKIE = "zenml_session"
CSRF_COOKIE = "zenml_csrf"
CSRF_FIELD = "csrf_token"
_CURRENT_USER = web.RequestKey("page_user", User)
_CSRF_VALUE = web.RequestKey("csrf_cookie_value", str)


def cookie(request: web.Request, name: str) -> str | None:
    """A cookie we set: printable ASCII of at most 128 characters; anything else (bytes
    that are not UTF-8 arrive as lone surrogates) counts as no cookie."""
    value = request.cookies.get(name)
    if not value or len(value) > 128 or not (value.isascii() and value.isprintable()):
        return None
    return value


def is_secure(request: web.Request) -> bool:
    url = request.app[SETTINGS].url
    return request.secure or (url is not None and url.startswith("https://"))


async def current_user(request: web.Request) -> User | None:
    """The logged-in, active user of this browser, or None."""
    cached: User | None = request.get(_CURRENT_USER)
    if cached is not None:
        return cached
    value = cookie(request, SESSION_COOKIE)
    if value is None:
        return None
    store = request.app[STORE]
    session = await store.sessions.get(digest(value), request.app[CLOCK].now())
    if session is None:
        return None
    user: User | None = await store.users.get(session.user_id)
    if user is None or not user.active:
        return None
    request[_CURRENT_USER] = user
    return user


async def require_user(request: web.Request) -> User:
    """The logged-in user; otherwise a redirect to /login?next=<this page>."""
    user = await current_user(request)
    if user is None:
        raise web.HTTPSeeOther(f"/login?next={quote(request.path_qs, safe='')}")
    return user


async def start_session(request: web.Request, response: web.StreamResponse, user: User) -> None:
    settings, clock = request.app[SETTINGS], request.app[CLOCK]
    value = new_token(32)
    now = clock.now()
    lifetime = settings.session_expire_minutes * 60
    await request.app[STORE].sessions.create(
        digest(value), user.id, now=now, expires=now + lifetime
    )
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=lifetime,
        httponly=True,
        samesite="Lax",
        secure=is_secure(request),
        path="/",
    )


async def end_session(request: web.Request, response: web.StreamResponse) -> None:
    value = cookie(request, SESSION_COOKIE)
    if value is not None:
        await request.app[STORE].sessions.delete(digest(value))
    response.del_cookie(SESSION_COOKIE, path="/")


def csrf_token(request: web.Request) -> str:
    """The token to put in this page's forms (sets the cookie via ``csrf_cookie``)."""
    value = cookie(request, CSRF_COOKIE)
    if value is None:
        value = request.get(_CSRF_VALUE) or new_token(24)
    request[_CSRF_VALUE] = value
    token: str = request.app[SERVICES].wiring.tokens.mac("csrf", value)
    return token


def csrf_cookie(request: web.Request, response: web.StreamResponse) -> None:
    """Send the CSRF cookie when this request made a new one."""
    value = request.get(_CSRF_VALUE)
    if value is not None and value != request.cookies.get(CSRF_COOKIE):
        response.set_cookie(
            CSRF_COOKIE,
            value,
            httponly=True,
            samesite="Strict",
            secure=is_secure(request),
            path="/",
        )


def check_csrf(request: web.Request, fields: dict[str, str]) -> None:
    """Refuse a form post whose token does not match this browser's CSRF cookie."""
    value = cookie(request, CSRF_COOKIE)
    sent = fields.get(CSRF_FIELD, "")
    if not value or not sent:
        raise ForbiddenError("The form has expired. Go back, reload the page and try again.")
    expected = request.app[SERVICES].wiring.tokens.mac("csrf", value)
    if not hmac.compare_digest(expected.encode(), sent.encode("utf-8", "replace")):
        raise ForbiddenError("The form has expired. Go back, reload the page and try again.")


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to go to after login; anything else (another site) becomes ``default``."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    if any(ch in target for ch in "\r\n\\") or len(target) > 2048:
        return default
    return target
