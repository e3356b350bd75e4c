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


async def login_page(request: web.Request) -> web.Response:
    target = safe_next(request.query.get("next"))
    if await current_user(request) is not None:
        raise web.HTTPSeeOther(target)
    context = {"next": target, "error": None, "username": "", **login_options(request)}
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
    except (InvalidCredentials, RateLimited) as exc:
        message = (
            "Too many attempts. Wait a minute and try again."
            if isinstance(exc, RateLimited)
            else "Wrong username or password."
        )
        context = {"next": target, "error": message, "username": username}
        context.update(login_options(request))
        return render(request, "login.html", context, status=401)
    response = web.HTTPSeeOther(target)
    await start_session(request, response, user)
    raise response


async def logout(request: web.Request) -> web.Response:
    fields = await read_form(request)
    check_csrf(request, fields)
    response = web.HTTPSeeOther("/login")
    await end_session(request, response)
    raise response


async def home(request: web.Request) -> web.Response:
    user = await require_user(request)
    return render(request, "home.html", {"user": user})


def setup(app: web.Application) -> None:
    app.router.add_get("/", home)
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login_submit)
    app.router.add_post("/logout", logout)
