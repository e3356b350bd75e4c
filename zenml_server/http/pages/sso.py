"""Single sign-on pages: ``/sso/{provider}/login`` sends the browser to the provider,
``/sso/{provider}/callback`` brings it back logged in (the same session as a password login).

The login is bound to the browser by a short-lived, signed, HttpOnly cookie holding the
``state`` (the PKCE verifier and the nonce are derived from it on the server), limited to
``/sso/``. Every failure is a page saying what to do, never a 500.
"""

from __future__ import annotations

import base64
import hmac
import json
from typing import Any

from aiohttp import web

from zenml_server.domain.errors import RateLimited
from zenml_server.http.auth import client_ip
from zenml_server.http.keys import CLOCK, SERVICES, SETTINGS
from zenml_server.http.pages.render import render
from zenml_server.http.pages.session import safe_next, start_session, write_cookie
from zenml_server.services.sso import SsoFailed
from zenml_server.settings import SsoProvider

COOKIE = "zenml_sso"
COOKIE_PATH = "/sso/"
LIFETIME_SECONDS = 600
_MAX_COOKIE = 4096
_STATUS = {
    "unreachable": 502,
    "cancelled": 400,
    "audience": 400,
    "clock": 400,
    "deactivated": 403,
    "unknown": 404,
    "invalid": 400,
    "state": 400,
}
_TITLES = {
    "unreachable": "The identity provider cannot be reached",
    "cancelled": "Login cancelled",
    "audience": "This login was meant for another application",
    "clock": "The clocks disagree",
    "deactivated": "Your account is deactivated",
    "unknown": "No such identity provider",
    "invalid": "The login did not work",
    "state": "This login has expired",
}


def login_options(request: web.Request) -> dict[str, Any]:
    """What the login page offers: a button per provider, and the password form or not."""
    settings = request.app[SETTINGS]
    providers: tuple[SsoProvider, ...] = settings.sso_providers
    return {
        "sso_providers": [{"name": p.name, "display_name": p.display_name} for p in providers],
        "password_login": settings.password_login,
    }


def redirect_uri(request: web.Request, name: str) -> str:
    base = request.app[SETTINGS].url or f"{request.scheme}://{request.host}"
    return f"{base}/sso/{name}/callback"


def _seal(request: web.Request, data: dict[str, Any]) -> str:
    payload = base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
    mac = request.app[SERVICES].wiring.tokens.mac("sso-cookie", payload)
    return f"{payload}.{mac}"


def _unseal(request: web.Request) -> dict[str, Any] | None:
    value = request.cookies.get(COOKIE, "")
    payload, _, mac = value.partition(".")
    if not payload or len(value) > _MAX_COOKIE:
        return None
    expected = request.app[SERVICES].wiring.tokens.mac("sso-cookie", payload)
    if not hmac.compare_digest(expected, mac):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in "psn"):
        return None
    if not isinstance(data.get("e"), int | float) or data["e"] < request.app[CLOCK].now():
        return None
    return data


def _failed(request: web.Request, failure: SsoFailed, target: str = "/") -> web.Response:
    context = {
        "title": _TITLES.get(failure.kind, _TITLES["invalid"]),
        "message": failure.message,
        "kind": failure.kind,
        "next": target,
    }
    response = render(request, "sso_error.html", context, status=_STATUS.get(failure.kind, 400))
    response.del_cookie(COOKIE, path=COOKIE_PATH)
    return response


async def start(request: web.Request) -> web.Response:
    name = request.match_info["provider"]
    target = safe_next(request.query.get("next"))
    try:
        authorization = await request.app[SERVICES].sso.begin(name, redirect_uri(request, name))
    except SsoFailed as failure:
        return _failed(request, failure, target)
    response = web.HTTPSeeOther(authorization.url)
    expires = request.app[CLOCK].now() + LIFETIME_SECONDS
    held = {"p": name, "s": authorization.state, "n": target, "e": expires}
    write_cookie(
        request,
        response,
        COOKIE,
        _seal(request, held),
        samesite="Lax",
        path=COOKIE_PATH,
        max_age=LIFETIME_SECONDS,
    )
    raise response


async def callback(request: web.Request) -> web.Response:
    name = request.match_info["provider"]
    held = _unseal(request)
    sent_state = request.query.get("state", "")
    if (
        held is None
        or held["p"] != name
        or not hmac.compare_digest(held["s"].encode(), sent_state.encode())
    ):
        failure = SsoFailed(
            "state",
            "This login was not started in this browser, or took longer than ten minutes. "
            "Start again from the login page.",
        )
        return _failed(request, failure)
    target = held["n"]
    sso = request.app[SERVICES].sso
    error = request.query.get("error")
    try:
        if error is not None:
            provider = sso.provider(name)
            if error in ("access_denied", "login_required", "consent_required"):
                raise SsoFailed(
                    "cancelled",
                    f"The login at {provider.display_name} was cancelled; nothing was changed.",
                )
            raise SsoFailed("invalid", f"{provider.display_name} refused the login ({error[:64]}).")
        user = await sso.finish(
            name,
            state=held["s"],
            code=request.query.get("code", ""),
            redirect_uri=redirect_uri(request, name),
            ip=client_ip(request),
        )
    except SsoFailed as failure:
        return _failed(request, failure, target)
    except RateLimited:
        limited = SsoFailed("invalid", "Too many login attempts. Wait a minute and try again.")
        return _failed(request, limited, target)
    response = web.HTTPSeeOther(target)
    await start_session(request, response, user)
    response.del_cookie(COOKIE, path=COOKIE_PATH)
    raise response


def setup(app: web.Application) -> None:
    app.router.add_get("/sso/{provider}/login", start)
    app.router.add_get("/sso/{provider}/callback", callback)
