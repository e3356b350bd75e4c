"""Every change on the service-accounts pages: a POST that answers with a redirect.

What takes something away (rotating with no time for the old key, deactivating, deleting)
first answers with a confirmation page (a plain form: no JavaScript needed) and acts only
when that form comes back with ``confirmed=yes``. Nothing changes before that.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from zenml_server.domain.errors import AlreadyExists, InvalidInput, NotFound
from zenml_server.http.forms import whole_number
from zenml_server.http.keys import CLOCK, SETTINGS
from zenml_server.http.pages.render import render
from zenml_server.http.pages.service_accounts import (
    DEFAULT_KEY_NAME,
    PAGE,
    account_url,
    admin_form,
    expires_at,
    issued_flash,
    max_key_days,
    redirect,
    service,
)
from zenml_server.services.service_accounts import MAX_RETAIN_MINUTES, check_expiry
from zenml_server.services.users import check_name

_FAILURES = (AlreadyExists, InvalidInput, NotFound)


def _confirmed(fields: dict[str, str]) -> bool:
    return fields.get("confirmed") == "yes"


def _confirm(
    request: web.Request,
    user: Any,
    *,
    title: str,
    consequences: list[str],
    action: str,
    button: str,
    back: str,
    fields: dict[str, str] | None = None,
    retain: bool = False,
    expires_in_days: str | None = None,
) -> web.Response:
    """The page that asks before a destructive action; its form posts back confirmed. With
    ``retain`` (a rotation) it asks for the retain period and the new key's expiry, the
    latter filled in with ``expires_in_days`` as the first form gave it."""
    context = {
        "user": user,
        "title": title,
        "consequences": consequences,
        "action": action,
        "button": button,
        "back": back,
        "fields": fields or {},
        "retain": retain,
        "max_retain": MAX_RETAIN_MINUTES,
        "expires_in_days": expires_in_days or "",
        "max_key_days": max_key_days(request),
    }
    return render(request, "confirm.html", context)


async def create_account(request: web.Request) -> web.Response:
    """Create an account and (unless the key name is left empty) its first key."""
    _, fields = await admin_form(request)
    name = fields.get("name", "").strip()
    key_name = fields.get("key_name", DEFAULT_KEY_NAME).strip()
    accounts = service(request)
    try:
        expiry = None
        if key_name:
            # Before the account exists: both or neither.
            check_name(key_name)
            expiry = expires_at(request, fields)
            max_days = request.app[SETTINGS].api_key_max_lifetime_days
            check_expiry(expiry, request.app[CLOCK].now(), max_days)
        account = await accounts.create_account(name, fields.get("description", ""))
        issued = None
        if key_name:
            issued = await accounts.create_key(account.id, key_name, expires_at=expiry)
    except _FAILURES as exc:
        raise redirect(request, PAGE, error=exc.message) from None
    notice = f"Created service account {account.name!r}."
    if issued is None:
        raise redirect(request, account_url(account.id), notice=notice)
    raise redirect(request, account_url(account.id), notice=notice, key=issued_flash(issued))


async def create_key(request: web.Request) -> web.Response:
    _, fields = await admin_form(request)
    back = account_url(request.match_info["account"])
    try:
        issued = await service(request).create_key(
            request.match_info["account"],
            fields.get("name", "").strip(),
            expires_at=expires_at(request, fields),
        )
    except _FAILURES as exc:
        raise redirect(request, back, error=exc.message) from None
    notice = f"Created API key {issued.key.name!r}."
    raise redirect(request, back, notice=notice, key=issued_flash(issued))


async def rotate_key(request: web.Request) -> web.Response:
    """Rotate with the retain period and expiry of the form; with 0 minutes, ask first and
    carry the expiry through the confirmation. A bad value changes nothing."""
    user, fields = await admin_form(request)
    account, key = request.match_info["account"], request.match_info["key"]
    back = account_url(account)
    raw = fields.get("retain_period_minutes", "0").strip() or "0"
    try:
        retain = whole_number(raw, "the retain period", maximum=9_999_999)
    except InvalidInput:
        error = "The retain period must be a whole number of minutes."
        raise redirect(request, back, error=error) from None
    try:
        expiry = expires_at(request, fields)
    except InvalidInput as exc:
        raise redirect(request, back, error=exc.message) from None
    if retain == 0 and not _confirmed(fields):
        try:
            found = await service(request).find_key(account, key)
        except NotFound:
            raise web.HTTPNotFound() from None
        return _confirm(
            request,
            user,
            title=f"Rotate API key {found.name!r} of {found.service_account_name!r}?",
            consequences=[
                "A new key is made and shown once.",
                "With 0 minutes, the current key and the tokens made from it stop working at "
                "once: every workload using it fails until it has the new key.",
                "To rotate without an outage, keep the old key working for some minutes.",
            ],
            action=request.path,
            button="Rotate",
            back=back,
            retain=True,
            expires_in_days=fields.get("expires_in_days", "").strip(),
        )
    try:
        issued = await service(request).rotate_key(
            account, key, retain_period_minutes=retain, expires_at=expiry
        )
    except _FAILURES as exc:
        raise redirect(request, back, error=exc.message) from None
    kept = (
        f"The previous key keeps working for {retain} minutes."
        if retain
        else "The previous key no longer works."
    )
    notice = f"Rotated API key {issued.key.name!r}. {kept}"
    raise redirect(request, back, notice=notice, key=issued_flash(issued))


def _active(fields: dict[str, str]) -> bool:
    value = fields.get("active")
    if value not in ("true", "false"):
        raise InvalidInput("active must be true or false")
    return value == "true"


async def set_key_active(request: web.Request) -> web.Response:
    user, fields = await admin_form(request)
    account, key = request.match_info["account"], request.match_info["key"]
    back = account_url(account)
    try:
        active = _active(fields)
        if not active and not _confirmed(fields):
            found = await service(request).find_key(account, key)
            return _confirm(
                request,
                user,
                title=f"Deactivate API key {found.name!r}?",
                consequences=[
                    "The key and every token made from it are refused from the next request.",
                    "Activating it again brings back the key, not the tokens made before.",
                ],
                action=request.path,
                button="Deactivate key",
                back=back,
                fields={"active": "false"},
            )
        updated = await service(request).update_key(account, key, active=active)
    except _FAILURES as exc:
        raise redirect(request, back, error=exc.message) from None
    state = "works again" if active else "is deactivated"
    raise redirect(request, back, notice=f"API key {updated.name!r} {state}.")


async def delete_key(request: web.Request) -> web.Response:
    user, fields = await admin_form(request)
    account, key = request.match_info["account"], request.match_info["key"]
    back = account_url(account)
    try:
        found = await service(request).find_key(account, key)
        if not _confirmed(fields):
            return _confirm(
                request,
                user,
                title=f"Delete API key {found.name!r}?",
                consequences=[
                    "The key and every token made from it are refused from the next request.",
                    "This cannot be undone; a new key has a new secret.",
                ],
                action=request.path,
                button="Delete key",
                back=back,
            )
        await service(request).delete_key(account, key)
    except _FAILURES as exc:
        raise redirect(request, back, error=exc.message) from None
    raise redirect(request, back, notice=f"Deleted API key {found.name!r}.")


async def set_account_active(request: web.Request) -> web.Response:
    user, fields = await admin_form(request)
    account = request.match_info["account"]
    back = account_url(account)
    try:
        active = _active(fields)
        if not active and not _confirmed(fields):
            found = await service(request).find_account(account)
            return _confirm(
                request,
                user,
                title=f"Deactivate service account {found.name!r}?",
                consequences=[
                    "All its API keys and every token made from them are refused from the "
                    "next request.",
                    "Activating it again brings back its active keys, not old tokens.",
                ],
                action=request.path,
                button="Deactivate account",
                back=back,
                fields={"active": "false"},
            )
        updated = await service(request).update_account(account, active=active)
    except _FAILURES as exc:
        raise redirect(request, back, error=exc.message) from None
    state = "is active: its active keys work again" if active else "is deactivated"
    raise redirect(request, back, notice=f"Service account {updated.name!r} {state}.")


async def delete_account(request: web.Request) -> web.Response:
    user, fields = await admin_form(request)
    account = request.match_info["account"]
    back = account_url(account)
    try:
        found = await service(request).find_account(account)
        if not _confirmed(fields):
            return _confirm(
                request,
                user,
                title=f"Delete service account {found.name!r}?",
                consequences=[
                    "The account and all its API keys are deleted.",
                    "Every workload using one of its keys is refused from the next request.",
                    "This cannot be undone.",
                ],
                action=request.path,
                button="Delete account",
                back=back,
            )
        await service(request).delete_account(account)
    except _FAILURES as exc:
        raise redirect(request, back, error=exc.message) from None
    raise redirect(request, PAGE, notice=f"Deleted service account {found.name!r}.")


def setup(app: web.Application) -> None:
    account = PAGE + "/{account}"
    key = account + "/api-keys/{key}"
    app.router.add_post(PAGE, create_account)
    app.router.add_post(account + "/active", set_account_active)
    app.router.add_post(account + "/delete", delete_account)
    app.router.add_post(account + "/api-keys", create_key)
    app.router.add_post(key + "/rotate", rotate_key)
    app.router.add_post(key + "/active", set_key_active)
    app.router.add_post(key + "/delete", delete_key)
