"""The approval page, /devices/verify: a logged-in user checks a device's code and approves
or denies it (RFC 8628 §3.3). Plain forms, no JavaScript.

GET without a code: a form to type it. GET with ``user_code`` (and ``device_id``, as in
``verification_uri_complete``), or POST of the typed code: the confirmation page. POST with
``decision=authorize|deny``: the result page. Every refusal is a message on the page.
"""

from __future__ import annotations

from aiohttp import web

from zenml_server.domain.errors import RateLimited
from zenml_server.domain.models import ApprovalVia, Device, LockedBy, User
from zenml_server.domain.secrets import format_user_code, normalize_user_code
from zenml_server.http.auth import client_ip
from zenml_server.http.forms import read_form
from zenml_server.http.keys import CLOCK, SERVICES, SETTINGS
from zenml_server.http.pages.approved_here import remember_approved
from zenml_server.http.pages.render import render, when
from zenml_server.http.pages.session import check_csrf, require_user
from zenml_server.services.approvals import CodeProblem, CodeRefused

_MAX_CODE_INPUT = 64
_MESSAGES = {
    CodeProblem.WRONG: "That code is not right. Check the code shown in your terminal and "
    "try again.",
    CodeProblem.EXPIRED: "This code has expired. Run zenml connect again in your terminal to "
    "get a new one.",
    CodeProblem.USED: "This code was already used. If that was not you, lock the device on "
    "your devices page.",
    CodeProblem.LOCKED: "This login request is locked after too many wrong codes. Run zenml "
    "connect again in your terminal to start over.",
}
_LOCKED_MESSAGES = {
    LockedBy.OWNER: "This device was locked by its owner on the devices page. Unlock it there, "
    "or run zenml connect again in your terminal to start over.",
    LockedBy.ADMIN: "This device was locked by an administrator. Only an administrator can "
    "unlock it.",
}
_STATUS = {
    CodeProblem.WRONG: 400,
    CodeProblem.EXPIRED: 400,
    CodeProblem.USED: 409,
    CodeProblem.LOCKED: 403,
}


def duration(minutes: int) -> str:
    """``1440`` -> ``24 hours``, ``43200`` -> ``30 days``: lifetimes as people say them."""
    if minutes % 1440 == 0 and minutes >= 2880:
        return f"{minutes // 1440} days"
    if minutes % 60 == 0:
        hours = minutes // 60
        return "1 hour" if hours == 1 else f"{hours} hours"
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def _lifetimes(request: web.Request) -> dict[str, str]:
    settings = request.app[SETTINGS]
    return {
        "normal_lifetime": duration(settings.device_expiration_minutes),
        "trusted_lifetime": duration(settings.trusted_device_expiration_minutes),
    }


def _entry(
    request: web.Request,
    user: User,
    *,
    error: str | None = None,
    code: str = "",
    device_id: str | None = None,
    status: int = 200,
) -> web.Response:
    context = {"user": user, "error": error, "user_code": code, "device_id": device_id}
    return render(request, "device_verify.html", context, status=status)


def _shown(typed: str) -> str:
    code = normalize_user_code(typed)
    return format_user_code(code) if code else typed


async def _confirm(
    request: web.Request, user: User, typed: str, device_id: str | None
) -> web.Response:
    try:
        facts = await request.app[SERVICES].approvals.preview(
            user.id, typed, device_id=device_id, ip=client_ip(request), user_name=user.name
        )
    except CodeRefused as exc:
        return _refusal(request, user, exc, typed, device_id)
    except RateLimited:
        return _too_many(request, user, typed, device_id)
    context = {
        "user": user,
        "device": facts.device,
        "facts": facts,
        "user_code": _shown(typed),
        "asked": _when(facts.device, request),
        **_lifetimes(request),
    }
    return render(request, "device_verify_confirm.html", context)


def _when(device: Device, request: web.Request) -> dict[str, str]:
    seconds = max(0, int(request.app[CLOCK].now() - device.created))
    if seconds < 60:
        ago = "just now"
    elif seconds < 3600:
        ago = f"{seconds // 60} min ago"
    else:
        ago = f"{seconds // 3600} h ago"
    return {"ago": ago, "utc": when(device.created)}


def _too_many(request: web.Request, user: User, typed: str, device_id: str | None) -> web.Response:
    message = "Too many attempts. Wait a minute and try again."
    return _entry(request, user, error=message, code=typed, device_id=device_id, status=429)


def _refusal(
    request: web.Request, user: User, exc: CodeRefused, typed: str, device_id: str | None
) -> web.Response:
    # After a lock or expiry the device is over: a new code will not be for this device.
    keep = device_id if exc.problem is CodeProblem.WRONG else None
    message = _MESSAGES[exc.problem]
    if exc.locked_by is not None:
        message = _LOCKED_MESSAGES.get(exc.locked_by, message)
    return _entry(
        request,
        user,
        error=message,
        code=typed,
        device_id=keep,
        status=_STATUS[exc.problem],
    )


async def verify_page(request: web.Request) -> web.Response:
    user = await require_user(request)
    typed = request.query.get("user_code", "")[:_MAX_CODE_INPUT]
    device_id = request.query.get("device_id") or None
    if not typed:
        return _entry(request, user, device_id=device_id)
    return await _confirm(request, user, typed, device_id)


async def verify_submit(request: web.Request) -> web.Response:
    user = await require_user(request)
    fields = await read_form(request)
    check_csrf(request, fields)
    typed = fields.get("user_code", "")[:_MAX_CODE_INPUT]
    device_id = fields.get("device_id") or None
    decision = fields.get("decision", "lookup")
    if not typed:
        return _entry(request, user, error="Type the code shown in your terminal.", status=400)
    if decision == "lookup":
        return await _confirm(request, user, typed, device_id)
    if decision not in ("authorize", "deny"):
        message = "Choose Authorize or Deny."
        return _entry(request, user, error=message, code=typed, device_id=device_id, status=400)
    approve = decision == "authorize"
    trusted = approve and fields.get("trusted_device") == "true"
    try:
        device = await request.app[SERVICES].approvals.decide(
            user.id,
            typed,
            device_id=device_id,
            ip=client_ip(request),
            approve=approve,
            trusted=trusted,
            via=ApprovalVia.SESSION,
        )
    except CodeRefused as exc:
        return _refusal(request, user, exc, typed, device_id)
    except RateLimited:
        return _too_many(request, user, typed, device_id)
    context = {"user": user, "device": device, "approved": approve, **_lifetimes(request)}
    response = render(request, "device_verify_done.html", context)
    if approve:
        remember_approved(request, response, device.id)
    return response


def setup(app: web.Application) -> None:
    app.router.add_get("/devices/verify", verify_page)
    app.router.add_post("/devices/verify", verify_submit)
