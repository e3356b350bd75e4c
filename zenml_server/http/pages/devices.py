"""/devices: the logged-in user's devices, with Lock, Unlock and Delete."""

from __future__ import annotations

from aiohttp import web

from zenml_server.domain.errors import NotFound, NotPermitted
from zenml_server.domain.models import Principal, PrincipalKind, User
from zenml_server.http.forms import read_form
from zenml_server.http.keys import SERVICES
from zenml_server.http.pages.render import render, when
from zenml_server.http.pages.session import check_csrf, require_user

_ACTIONS = {"lock": "locked", "unlock": "unlocked", "delete": "deleted"}


def _principal(user: User) -> Principal:
    # On this page even an admin manages only their own devices.
    return Principal(kind=PrincipalKind.USER, id=user.id, name=user.name, is_admin=False)


async def devices_page(request: web.Request) -> web.Response:
    user = await require_user(request)
    result = await request.app[SERVICES].devices.list(_principal(user), page=1, size=200)
    done = request.query.get("done")
    also = request.query.get("also", "")
    return render(
        request,
        "devices.html",
        {
            "user": user,
            "devices": result.items,
            "total": result.total,
            "when": when,
            "done": _ACTIONS.get(done or ""),
            "also_locked": int(also) if also.isascii() and also.isdigit() and len(also) < 6 else 0,
            "refused": request.query.get("refused") == "admin-lock",
        },
    )


async def device_action(request: web.Request) -> web.Response:
    user = await require_user(request)
    fields = await read_form(request)
    check_csrf(request, fields)
    action = request.match_info["action"]
    device_id = request.match_info["device_id"]
    admin = request.app[SERVICES].devices
    try:
        if action == "delete":
            outcome = await admin.delete(_principal(user), device_id)
        else:
            outcome = await admin.set_locked(_principal(user), device_id, action == "lock")
    except NotFound:
        raise web.HTTPNotFound() from None
    except NotPermitted:
        raise web.HTTPSeeOther("/devices?refused=admin-lock") from None
    also = f"&also={len(outcome.also_locked)}" if outcome.also_locked else ""
    raise web.HTTPSeeOther(f"/devices?done={action}{also}")


def setup(app: web.Application) -> None:
    app.router.add_get("/devices", devices_page)
    app.router.add_post(r"/devices/{device_id}/{action:lock|unlock|delete}", device_action)
