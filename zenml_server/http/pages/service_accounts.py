"""The admin pages for service accounts (/service-accounts) and one page per account.

The list shows each account's name, state, number of keys and last use, with a search box,
a state filter and 50 per page. An account's page shows its keys and every action on them.
Every POST answers with a redirect (post/redirect/get); a new key travels to the page the
browser lands on in an encrypted one-time cookie (``pages/flash.py``) and is shown there once,
with a copy button (when JavaScript runs) and the connect command carrying the key. The
actions that take something away ask first (``pages/service_account_actions.py``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from aiohttp import web

from zenml_server.domain.errors import InvalidInput, NotFound
from zenml_server.domain.models import ApiKey, ServiceAccount, User
from zenml_server.http.errors import ForbiddenError
from zenml_server.http.forms import read_form
from zenml_server.http.keys import CLOCK, SERVICES, SETTINGS
from zenml_server.http.pages.flash import clear_flash, read_flash, set_flash
from zenml_server.http.pages.paging import PAGE_SIZE, Pager, page_number
from zenml_server.http.pages.render import render, when, when_short
from zenml_server.http.pages.session import check_csrf, require_user
from zenml_server.http.pages.trust_policies import policy_views
from zenml_server.services.service_accounts import (
    MAX_DESCRIPTION_LENGTH,
    IssuedKey,
    ServiceAccounts,
)

PAGE = "/service-accounts"
DEFAULT_KEY_NAME = "default"
_MAX_KEYS_SHOWN = 200
MAX_EXPIRY_DAYS = 36_500  # a hundred years: the most a form may ask, maximum set or not
_STATES = {"all": None, "active": True, "inactive": False}


async def admin(request: web.Request) -> User:
    user = await require_user(request)
    if not user.is_admin:
        raise ForbiddenError("Only administrators can manage service accounts.")
    return user


def service(request: web.Request) -> ServiceAccounts:
    return request.app[SERVICES].service_accounts


async def admin_form(request: web.Request) -> tuple[User, dict[str, str]]:
    user = await admin(request)
    fields = await read_form(request)
    check_csrf(request, fields)
    return user, fields


def account_url(account_id: str) -> str:
    return f"{PAGE}/{quote(account_id, safe='')}"


def max_key_days(request: web.Request) -> int | None:
    """The most days a form may give a key, when ZENML_SERVER_API_KEY_MAX_LIFETIME_DAYS
    is set (the label and ``required`` of every expiry field); None when it is not."""
    max_days = request.app[SETTINGS].api_key_max_lifetime_days
    return None if max_days is None else min(max_days, MAX_EXPIRY_DAYS)


def expires_at(request: web.Request, fields: dict[str, str]) -> float | None:
    """The expiry asked for in a form's ``expires_in_days``: empty is none, unless
    ZENML_SERVER_API_KEY_MAX_LIFETIME_DAYS is set, which also bounds the days."""
    most = max_key_days(request)
    raw = fields.get("expires_in_days", "").strip()
    if not raw:
        if most is not None:
            raise InvalidInput(
                f"API keys must expire within {most} days: give the number of days until "
                "the key expires."
            )
        return None
    if not (raw.isascii() and raw.isdigit()) or not raw.strip("0"):
        raise InvalidInput("The expiry must be a whole number of days (1 or more).")
    limit = most or MAX_EXPIRY_DAYS
    digits = raw.lstrip("0")
    # Compared as text first: int() of thousands of digits is slow or refused.
    if len(digits) > len(str(limit)) or int(digits) > limit:
        raise InvalidInput(f"The expiry must be at most {limit} days.")
    return float(request.app[CLOCK].now() + int(digits) * 86400)


def redirect(request: web.Request, location: str, **flash: Any) -> web.HTTPSeeOther:
    """The answer to a POST: go to ``location``, showing ``flash`` there once."""
    response = web.HTTPSeeOther(location)
    if flash:
        set_flash(request, response, PAGE, flash)
    return response


def issued_flash(issued: IssuedKey) -> dict[str, str]:
    return {
        "name": issued.key.name,
        "account": issued.key.service_account_name,
        "secret": issued.secret,
    }


def key_view(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "description": key.description,
        "active": key.active,
        "last_used": when_short(key.last_login),
        "last_rotated": when_short(key.last_rotated),
        "retain_period_minutes": key.retain_period_minutes,
        "expires": when_short(key.expires_at, never="never"),
    }


def account_view(account: ServiceAccount) -> dict[str, Any]:
    return {
        "id": account.id,
        "name": account.name,
        "description": account.description,
        "active": account.active,
        "created": when(account.created),
        "url": account_url(account.id),
    }


def _shown(request: web.Request, template: str, context: dict[str, Any]) -> web.Response:
    """Render a page with the one-time message left for it, and forget that message."""
    flash = read_flash(request) or {}
    full = {
        **context,
        "notice": flash.get("notice"),
        "error": flash.get("error"),
        "issued": flash.get("key"),
        "server_url": request.app[SETTINGS].url or str(request.url.origin()),
        "max_key_days": max_key_days(request),
    }
    response = render(request, template, full)
    clear_flash(request, response, PAGE)
    return response


async def list_page(request: web.Request) -> web.Response:
    user = await admin(request)
    search = request.query.get("q", "").strip()[:128]
    state = request.query.get("state", "all")
    if state not in _STATES:
        state = "all"
    page = page_number(request.query.get("page"))
    try:
        result = await service(request).list_summaries(
            search=search, active=_STATES[state], page=page, size=PAGE_SIZE
        )
    except InvalidInput:
        raise web.HTTPSeeOther(PAGE) from None
    rows = [
        {
            **account_view(s.account),
            "key_count": s.key_count,
            "last_used": when_short(s.last_used),
        }
        for s in result.items
    ]
    context = {
        "user": user,
        "accounts": rows,
        "search": search,
        "state": state,
        "pager": Pager(page, PAGE_SIZE, result.total, PAGE, {"q": search, "state": state}),
        "filtered": bool(search) or state != "all",
        "max_description": MAX_DESCRIPTION_LENGTH,
    }
    return _shown(request, "service_accounts.html", context)


async def account_page(request: web.Request) -> web.Response:
    user = await admin(request)
    accounts = service(request)
    try:
        account = await accounts.find_account(request.match_info["account"])
        keys = await accounts.list_keys(account.id, size=_MAX_KEYS_SHOWN)
    except NotFound:
        raise web.HTTPNotFound() from None
    context = {
        "user": user,
        "account": account_view(account),
        "keys": [key_view(k) for k in keys.items],
        "key_total": keys.total,
        "trust_policies": (await policy_views(request)).get(account.id, []),
    }
    return _shown(request, "service_account.html", context)


def setup(app: web.Application) -> None:
    """The two GET pages; the POSTs live in ``service_account_actions``."""
    app.router.add_get(PAGE, list_page)
    app.router.add_get(PAGE + "/{account}", account_page)
