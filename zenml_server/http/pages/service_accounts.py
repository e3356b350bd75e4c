"""The admin page for service accounts and their API keys (/service-accounts).

Every change is a POST form with the CSRF token. A key created or rotated here is shown in
the answer to that POST and never again (the answer is not cached: ``no-store``).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from zenml_server.domain.errors import AlreadyExists, InvalidInput, NotFound
from zenml_server.domain.models import ApiKey, ServiceAccount, User
from zenml_server.http.errors import ForbiddenError
from zenml_server.http.forms import read_form, whole_number
from zenml_server.http.keys import SERVICES, SETTINGS
from zenml_server.http.pages.render import render, when
from zenml_server.http.pages.session import check_csrf, require_user
from zenml_server.http.pages.trust_policies import policy_views
from zenml_server.services.service_accounts import (
    MAX_DESCRIPTION_LENGTH,
    IssuedKey,
    ServiceAccounts,
)
from zenml_server.services.users import check_name

PAGE = "/service-accounts"
TEMPLATE = "service_accounts.html"
DEFAULT_KEY_NAME = "default"
_MAX_SHOWN = 1000
_STATUS = {AlreadyExists: 409, InvalidInput: 422, NotFound: 404}


async def _admin(request: web.Request) -> User:
    user = await require_user(request)
    if not user.is_admin:
        raise ForbiddenError("Only administrators can manage service accounts.")
    return user


def _service(request: web.Request) -> ServiceAccounts:
    return request.app[SERVICES].service_accounts


def _key_view(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "description": key.description,
        "active": key.active,
        "last_login": when(key.last_login),
        "last_rotated": when(key.last_rotated),
        "retain_period_minutes": key.retain_period_minutes,
    }


async def _account_views(service: ServiceAccounts) -> list[dict[str, Any]]:
    accounts = await service.list_accounts(size=_MAX_SHOWN)
    views = []
    for account in accounts.items:
        keys = await service.list_keys(account.id, size=_MAX_SHOWN)
        views.append(_account_view(account, keys.items))
    return views


def _account_view(account: ServiceAccount, keys: Any) -> dict[str, Any]:
    return {
        "id": account.id,
        "name": account.name,
        "description": account.description,
        "active": account.active,
        "created": when(account.created),
        "api_keys": [_key_view(k) for k in keys],
    }


async def _page(
    request: web.Request,
    user: User,
    *,
    status: int = 200,
    error: str | None = None,
    notice: str | None = None,
    issued: IssuedKey | None = None,
) -> web.Response:
    url = request.app[SETTINGS].url or str(request.url.origin())
    context = {
        "user": user,
        "accounts": await _account_views(_service(request)),
        "error": error,
        "notice": notice,
        "issued": issued,
        "server_url": url,
        "max_description": MAX_DESCRIPTION_LENGTH,
        "trust_policies": await policy_views(request),
    }
    return render(request, TEMPLATE, context, status=status)


async def _form(request: web.Request) -> tuple[User, dict[str, str]]:
    user = await _admin(request)
    fields = await read_form(request)
    check_csrf(request, fields)
    return user, fields


def _failure(exc: NotFound | AlreadyExists | InvalidInput) -> tuple[int, str]:
    return _STATUS[type(exc)], exc.message


async def show(request: web.Request) -> web.Response:
    return await _page(request, await _admin(request))


async def create_account(request: web.Request) -> web.Response:
    """Create an account and (unless the key name is left empty) its first key."""
    user, fields = await _form(request)
    name = fields.get("name", "").strip()
    key_name = fields.get("key_name", DEFAULT_KEY_NAME).strip()
    service = _service(request)
    try:
        if key_name:
            check_name(key_name)  # before the account exists: both or neither
        account = await service.create_account(name, fields.get("description", ""))
        issued = await service.create_key(account.id, key_name) if key_name else None
    except (AlreadyExists, InvalidInput, NotFound) as exc:
        status, message = _failure(exc)
        return await _page(request, user, status=status, error=message)
    notice = f"Created service account {account.name!r}."
    return await _page(request, user, notice=notice, issued=issued)


async def create_key(request: web.Request) -> web.Response:
    user, fields = await _form(request)
    try:
        issued = await _service(request).create_key(
            request.match_info["account"], fields.get("name", "").strip()
        )
    except (AlreadyExists, InvalidInput, NotFound) as exc:
        status, message = _failure(exc)
        return await _page(request, user, status=status, error=message)
    notice = f"Created API key {issued.key.name!r} for {issued.key.service_account_name!r}."
    return await _page(request, user, notice=notice, issued=issued)


async def rotate_key(request: web.Request) -> web.Response:
    user, fields = await _form(request)
    try:
        raw = fields.get("retain_period_minutes", "0").strip() or "0"
        retain = whole_number(raw, "the retain period in minutes", maximum=9_999_999)
        issued = await _service(request).rotate_key(
            request.match_info["account"],
            request.match_info["key"],
            retain_period_minutes=retain,
        )
    except (AlreadyExists, InvalidInput, NotFound) as exc:
        status, message = _failure(exc)
        return await _page(request, user, status=status, error=message)
    retain = issued.key.retain_period_minutes
    kept = (
        f"The previous key keeps working for {retain} minutes."
        if retain
        else ("The previous key no longer works.")
    )
    notice = f"Rotated API key {issued.key.name!r}. {kept}"
    return await _page(request, user, notice=notice, issued=issued)


def _active(fields: dict[str, str]) -> bool:
    value = fields.get("active")
    if value not in ("true", "false"):
        raise InvalidInput("active must be true or false")
    return value == "true"


async def set_key_active(request: web.Request) -> web.Response:
    user, fields = await _form(request)
    try:
        await _service(request).update_key(
            request.match_info["account"], request.match_info["key"], active=_active(fields)
        )
    except (InvalidInput, NotFound) as exc:
        status, message = _failure(exc)
        return await _page(request, user, status=status, error=message)
    raise web.HTTPSeeOther(PAGE)


async def set_account_active(request: web.Request) -> web.Response:
    user, fields = await _form(request)
    try:
        await _service(request).update_account(
            request.match_info["account"], active=_active(fields)
        )
    except (InvalidInput, NotFound) as exc:
        status, message = _failure(exc)
        return await _page(request, user, status=status, error=message)
    raise web.HTTPSeeOther(PAGE)


def setup(app: web.Application) -> None:
    account = PAGE + "/{account}"
    key = account + "/api-keys/{key}"
    app.router.add_get(PAGE, show)
    app.router.add_post(PAGE, create_account)
    app.router.add_post(account + "/active", set_account_active)
    app.router.add_post(account + "/api-keys", create_key)
    app.router.add_post(key + "/rotate", rotate_key)
    app.router.add_post(key + "/active", set_key_active)
