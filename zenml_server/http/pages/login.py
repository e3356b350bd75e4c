"""The login and logout pages, and the home page."""

from __future__ import annotations

from aiohttp import web

from zenml_server.domain.errors import InvalidCredentials, RateLimited
from zenml_server.http.auth import client_ip
from zenml_server.http.errors import ForbiddenError
from zenml_server.http.forms import read_form
from zenml_server.http.keys import SERVICES, SETTINGS
from zenml_server.http.pages.render import render
from zenml_server.http.pages.session import (
    check_csrf,
    current_user,
    end_session,
    require_user,
    safe_next,
    start_session,
)
from zenml_server.http.pages.sso import login_options

APPROVAL_PAGE = "/devices/verify"


def _reason(target: str) -> str | None:
    """Why the login page is shown, when the page asked for says (a device approval)."""
    if target.startswith(APPROVAL_PAGE):
        return "A device is asking to connect. Log in to check its code and approve it."
    return None


async def login_page(request: web.Request) -> web.Response:
    target = safe_next(request.query.get("next"))
    if await current_user(request) is not None:
        raise web.HTTPSeeOther(target)
    context = {
        "next": target,
        "error": None,
        "username": "",
        "reason": _reason(target),
        **login_options(request),
    }
    return render(request, "login.html", context)


async def login_submit(request: web.Request) -> web.Response:
    fields = await read_form(request)
    check_csrf(request, fields)
    if not request.app[SETTINGS].password_login:
        raise ForbiddenError("Password login is turned off here: use single sign-on.")
    target = safe_next(fields.get("next"))
    username = fields.get("username", "")[:128]
    password = fields.get("password", "")
    users = request.app[SERVICES].users
    try:
        if not username or not password:
            raise InvalidCredentials("missing")
        user = await users.authenticate(username, password[:1024], ip=client_ip(request))
    except InvalidCredentials:
        context = {
            "next": target,
            "error": "Wrong username or password.",
            "username": username,
            "reason": _reason(target),
            **login_options(request),
        }
        return render(request, "login.html", context, status=401)
    except RateLimited as exc:
        context = {
            "next": target,
            "error": "Too many failed attempts from here. Wait a minute and try again.",
            "username": username,
            "reason": _reason(target),
        }
        context.update(login_options(request))
        response = render(request, "login.html", context, status=429)
        response.headers["Retry-After"] = str(int(exc.retry_after) + 1)
        return response
    response = web.HTTPSeeOther(target)
    await start_session(request, response, user)
    raise response


async def logout(request: web.Request) -> web.Response:
    fields = await read_form(request)
    check_csrf(request, fields)
    response = web.HTTPSeeOther("/login")
    await end_session(request, response)
    raise response


async def logout_page(request: web.Request) -> web.Response:
    """GET /logout (a typed or bookmarked link): a page with the logout button, since logging
    out changes state and so is a POST with the CSRF token."""
    user = await current_user(request)
    if user is None:
        raise web.HTTPSeeOther("/login")
    return render(request, "logout.html", {"user": user})


async def home(request: web.Request) -> web.Response:
    user = await require_user(request)
    return render(request, "home.html", {"user": user})


def setup(app: web.Application) -> None:
    app.router.add_get("/", home)
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login_submit)
    app.router.add_get("/logout", logout_page)
    app.router.add_post("/logout", logout)
