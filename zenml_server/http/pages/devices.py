"""/devices: the logged-in user's devices.

Two views (``?view=permitted``, the default: devices that were let in, locked or not;
``?view=refused``: requests denied or expired), 50 per page. Lock and Delete ask first on a
page of their own (``GET /devices/{id}/lock|delete``), so they work without JavaScript and
are never one stray click; Unlock, which gives nothing away, is one click. Every POST
answers with a redirect back to the list (post/redirect/get).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from zenml_server.domain.errors import NotFound, NotPermitted
from zenml_server.domain.models import Device, DeviceStatus, Principal, PrincipalKind, User
from zenml_server.http.auth import client_ip
from zenml_server.http.forms import read_form
from zenml_server.http.keys import SERVICES
from zenml_server.http.pages.approved_here import approved_here
from zenml_server.http.pages.paging import PAGE_SIZE, Pager, page_number
from zenml_server.http.pages.render import render, when_short
from zenml_server.http.pages.session import check_csrf, require_user

PAGE = "/devices"
_ACTIONS = {"lock": "locked", "unlock": "unlocked", "delete": "deleted"}
_LOCKED_BY = {"owner": "by you", "admin": "by an admin", "wrong_codes": "after wrong codes"}
VIEWS = {
    "permitted": (DeviceStatus.ACTIVE, DeviceStatus.VERIFIED, DeviceStatus.LOCKED),
    "refused": (DeviceStatus.DENIED, DeviceStatus.EXPIRED, DeviceStatus.PENDING),
}


def _principal(user: User) -> Principal:
    # On this page even an admin manages only their own devices.
    return Principal(kind=PrincipalKind.USER, id=user.id, name=user.name, is_admin=False)


def _view(device: Device, request_ip: str, here: tuple[str, ...]) -> dict[str, Any]:
    """What a row shows: enough to tell three "vm / Linux" devices apart. ``here``: the ids
    of the devices approved in this browser (only the user's own devices are ever shown)."""
    return {
        "id": device.id,
        "short_id": device.id[:8],
        "client": device.client_id[:8],
        "hostname": device.hostname or "unknown host",
        "os": device.os or "unknown system",
        "ip": device.ip_address or "unknown address",
        "status": device.status.value,
        "trusted": device.trusted_device,
        "expires": when_short(device.expires),
        "last_used": when_short(device.last_login),
        "same_ip": bool(device.ip_address) and device.ip_address == request_ip,
        "approved_here": device.id in here,
        "locked_by": _LOCKED_BY.get(device.locked_by.value) if device.locked_by else None,
    }


async def devices_page(request: web.Request) -> web.Response:
    user = await require_user(request)
    view = request.query.get("view", "permitted")
    if view not in VIEWS:
        view = "permitted"
    page = page_number(request.query.get("page"))
    result = await request.app[SERVICES].devices.list(
        _principal(user), page=page, size=PAGE_SIZE, statuses=VIEWS[view]
    )
    ip, here = client_ip(request), approved_here(request)
    done = request.query.get("done")
    also = request.query.get("also", "")
    return render(
        request,
        "devices.html",
        {
            "user": user,
            "devices": [_view(d, ip, here) for d in result.items],
            "view": view,
            "pager": Pager(page, PAGE_SIZE, result.total, PAGE, {"view": view}),
            "done": _ACTIONS.get(done or ""),
            "also_locked": int(also) if also.isascii() and also.isdigit() and len(also) < 6 else 0,
            "refused": request.query.get("refused") == "admin-lock",
        },
    )


async def confirm_page(request: web.Request) -> web.Response:
    """The step before a Lock or Delete: what will happen, and the button that does it."""
    user = await require_user(request)
    action = request.match_info["action"]
    try:
        device = await request.app[SERVICES].devices.get(
            _principal(user), request.match_info["device_id"]
        )
    except NotFound:
        raise web.HTTPNotFound() from None
    shown = _view(device, client_ip(request), approved_here(request))
    context = {"user": user, "device": shown, "action": action}
    return render(request, "device_confirm.html", context)


async def device_action(request: web.Request) -> web.Response:
    user = await require_user(request)
    fields = await read_form(request)
    check_csrf(request, fields)
    action = request.match_info["action"]
    device_id = request.match_info["device_id"]
    admin = request.app[SERVICES].devices
    view = fields.get("view") if fields.get("view") in VIEWS else "permitted"
    try:
        if action == "delete":
            outcome = await admin.delete(_principal(user), device_id)
        else:
            outcome = await admin.set_locked(_principal(user), device_id, action == "lock")
    except NotFound:
        raise web.HTTPNotFound() from None
    except NotPermitted:
        raise web.HTTPSeeOther(f"{PAGE}?view={view}&refused=admin-lock") from None
    also = f"&also={len(outcome.also_locked)}" if outcome.also_locked else ""
    raise web.HTTPSeeOther(f"{PAGE}?view={view}&done={action}{also}")


def setup(app: web.Application) -> None:
    app.router.add_get(PAGE, devices_page)
    app.router.add_get(r"/devices/{device_id}/{action:lock|delete}", confirm_page)
    app.router.add_post(r"/devices/{device_id}/{action:lock|unlock|delete}", device_action)
