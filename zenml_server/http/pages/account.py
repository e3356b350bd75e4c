"""/account/password: a logged-in user changes their own password.

Proving the current password is required. Every other browser session and every token of
the user ends (devices must log in again); this browser stays logged in.
"""

from __future__ import annotations

from aiohttp import web

from zenml_server.domain.errors import InvalidInput, NotPermitted, RateLimited
from zenml_server.domain.models import User
from zenml_server.domain.secrets import digest
from zenml_server.http.forms import read_form
from zenml_server.http.keys import SERVICES
from zenml_server.http.pages.render import render
from zenml_server.http.pages.session import SESSION_COOKIE, check_csrf, require_user

PATH = "/account/password"


def _form(
    request: web.Request, user: User, *, error: str | None = None, status: int = 200
) -> web.Response:
    return render(request, "account_password.html", {"user": user, "error": error}, status=status)


async def password_page(request: web.Request) -> web.Response:
    return _form(request, await require_user(request))


async def password_submit(request: web.Request) -> web.Response:
    user = await require_user(request)
    fields = await read_form(request)
    check_csrf(request, fields)
    old = fields.get("old_password", "")
    new = fields.get("new_password", "")
    if new != fields.get("confirm_password", ""):
        return _form(request, user, error="The two new passwords differ.", status=400)
    cookie = request.cookies.get(SESSION_COOKIE, "")
    try:
        await request.app[SERVICES].users.change_own_password(
            user.id, old, new, keep_session=digest(cookie) if cookie else None
        )
    except NotPermitted:
        return _form(request, user, error="The current password is not right.", status=403)
    except InvalidInput as exc:
        return _form(
            request, user, error=exc.message[:1].upper() + exc.message[1:] + ".", status=400
        )
    except RateLimited:
        message = "Too many attempts. Wait a minute and try again."
        return _form(request, user, error=message, status=429)
    return render(request, "account_password_done.html", {"user": user})


def setup(app: web.Application) -> None:
    app.router.add_get(PATH, password_page)
    app.router.add_post(PATH, password_submit)
