"""Browser sessions and CSRF protection for the server-rendered pages.

- Session: a random cookie value; the database keeps only its digest. HttpOnly,
  SameSite=Lax, Secure whenever the server is reached over https.
- CSRF: every form carries a token that is an HMAC, under the server's secret, of the
  browser's session cookie, or before login of a random pre-session nonce cookie. A token
  is good only with the cookie it was made from, so a cookie and token pair taken from
  another browser (and planted from a sibling subdomain or over plain http) is refused
  once the victim has a session. Needs no server-side state.
- Over https both cookies are named with the ``__Host-`` prefix (Secure, Path=/, no Domain:
  no sibling subdomain and no plain-http page can set them); over plain http (local
  development) they keep their plain names.
"""

from __future__ import annotations

import hmac
from urllib.parse import quote, unquote, urlsplit

from aiohttp import web
from yarl import URL

from zenml_server.domain.models import User
from zenml_server.domain.secrets import digest, new_token
from zenml_server.http.errors import ForbiddenError
from zenml_server.http.keys import CLOCK, SERVICES, SETTINGS, STORE

SESSION_COOKIE = "zenml_session"
CSRF_COOKIE = "zenml_csrf"
CSRF_FIELD = "csrf_token"
HOST_PREFIX = "__Host-"
_MAX_COOKIE_LENGTH = 128
_FORM_EXPIRED = "The form has expired. Go back, reload the page and try again."
_CURRENT_USER = web.RequestKey("page_user", User)
_CSRF_VALUE = web.RequestKey("csrf_cookie_value", str)


def is_secure(request: web.Request) -> bool:
    url = request.app[SETTINGS].url
    return request.secure or (url is not None and url.startswith("https://"))


def known_user(request: web.Request) -> User | None:
    """The browser session's user when this request already looked it up (no I/O)."""
    return request.get(_CURRENT_USER)


def cookie_name(request: web.Request, base: str) -> str:
    """``__Host-<base>`` when served over https, ``<base>`` over plain http."""
    return HOST_PREFIX + base if is_secure(request) else base


def write_cookie(
    request: web.Request,
    response: web.StreamResponse,
    name: str,
    value: str,
    *,
    samesite: str,
    path: str = "/",
    max_age: int | None = None,
) -> None:
    """Set a cookie the way every cookie of ours is set: HttpOnly, and Secure over https."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=path,
        httponly=True,
        samesite=samesite,
        secure=is_secure(request),
    )


def _cookie(request: web.Request, base: str) -> str | None:
    return read_cookie(request, base, _MAX_COOKIE_LENGTH)


def read_cookie(request: web.Request, base: str, max_length: int) -> str | None:
    """This browser's cookie ``base`` under the name this scheme uses, if well formed: we set
    only printable ASCII, and bytes that are not UTF-8 arrive as lone surrogates."""
    value = request.cookies.get(cookie_name(request, base))
    if not value or len(value) > max_length:
        return None
    if not (value.isascii() and value.isprintable()):
        return None
    return value


async def current_user(request: web.Request) -> User | None:
    """The logged-in, active user of this browser, or None."""
    cached: User | None = request.get(_CURRENT_USER)
    if cached is not None:
        return cached
    cookie = _cookie(request, SESSION_COOKIE)
    if cookie is None:
        return None
    store = request.app[STORE]
    session = await store.sessions.get(digest(cookie), request.app[CLOCK].now())
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
    write_cookie(
        request,
        response,
        cookie_name(request, SESSION_COOKIE),
        value,
        samesite="Lax",
        max_age=lifetime,
    )


async def end_session(request: web.Request, response: web.StreamResponse) -> None:
    cookie = _cookie(request, SESSION_COOKIE)
    if cookie is not None:
        await request.app[STORE].sessions.delete(digest(cookie))
    response.del_cookie(
        cookie_name(request, SESSION_COOKIE), path="/", secure=is_secure(request) or None
    )


def csrf_token(request: web.Request) -> str:
    """The token to put in this page's forms: bound to the session cookie, or before login
    to the pre-session nonce cookie (made here when missing; ``csrf_cookie`` sends it)."""
    return _expected_token(request, create=True) or ""


def csrf_cookie(request: web.Request, response: web.StreamResponse) -> None:
    """Send the pre-session nonce cookie when this request made a new one."""
    value = request.get(_CSRF_VALUE)
    if value is not None and value != _cookie(request, CSRF_COOKIE):
        write_cookie(request, response, cookie_name(request, CSRF_COOKIE), value, samesite="Strict")


def check_csrf(request: web.Request, fields: dict[str, str]) -> None:
    """Refuse a form post whose token was not made from this browser's session cookie (or,
    with no session cookie, from its pre-session nonce cookie)."""
    expected = _expected_token(request, create=False)
    sent = fields.get(CSRF_FIELD, "")
    if (
        expected is None
        or not sent
        or not hmac.compare_digest(expected.encode(), sent.encode("utf-8", "replace"))
    ):
        raise ForbiddenError(_FORM_EXPIRED)


def _expected_token(request: web.Request, *, create: bool) -> str | None:
    tokens = request.app[SERVICES].wiring.tokens
    session = _cookie(request, SESSION_COOKIE)
    if session is not None:
        return tokens.mac("csrf-session", session)
    nonce = _cookie(request, CSRF_COOKIE) or request.get(_CSRF_VALUE)
    if nonce is None:
        if not create:
            return None
        nonce = new_token(24)
    request[_CSRF_VALUE] = nonce
    return tokens.mac("csrf-nonce", nonce)


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to go to after login; anything else becomes ``default``.

    Local by construction: printable ASCII only (no whitespace, control character, backslash
    or look-alike slash), one leading ``/`` and never two, and no scheme or host once parsed,
    whether read as is, percent-decoded once, or as the ``Location`` header will carry it.
    """
    if not target or len(target) > 2048:
        return default
    if not all("!" <= ch <= "~" for ch in target) or "\\" in target:
        return default
    try:
        built = str(URL(target))
    except ValueError:
        return default
    if not all(_is_local_path(value) for value in (target, unquote(target), built)):
        return default
    return target


def _is_local_path(value: str) -> bool:
    if not value.startswith("/") or value.startswith(("//", "/\\")):
        return False
    parts = urlsplit(value)
    return not parts.scheme and not parts.netloc
