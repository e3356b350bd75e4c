"""Service accounts and API keys (admins only), and the ``zenml-api-key`` login grant."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from authlib.oauth2.rfc6749.errors import InvalidGrantError, InvalidRequestError

from zenml_server.domain.clock import isoformat
from zenml_server.domain.errors import InvalidCredentials
from zenml_server.domain.models import ApiKey, ServiceAccount
from zenml_server.http.api.tokens import API_KEY_GRANT, register_grant, token_response
from zenml_server.http.auth import client_ip, require_admin
from zenml_server.http.errors import ValidationFailed
from zenml_server.http.forms import (
    optional_bool,
    optional_integer,
    optional_text,
    optional_timestamp,
    pagination,
    query_bool,
    read_json,
    require_text,
)
from zenml_server.http.keys import SERVICES
from zenml_server.services.service_accounts import (
    MAX_DESCRIPTION_LENGTH,
    IssuedKey,
    Page,
    ServiceAccounts,
)

BASE = "/api/v1/service_accounts"
_NAME_MAX = 128
# One answer for every refused key: unknown, malformed, inactive, rotated out, deleted.
INVALID_KEY = "invalid API key"


def account_json(account: ServiceAccount) -> dict[str, Any]:
    return {
        "id": account.id,
        "name": account.name,
        "description": account.description,
        "active": account.active,
        "created": isoformat(account.created),
        "updated": isoformat(account.updated),
    }


def key_json(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "description": key.description,
        "service_account": {"id": key.service_account_id, "name": key.service_account_name},
        "active": key.active,
        "created": isoformat(key.created),
        "updated": isoformat(key.updated),
        "last_login": isoformat(key.last_login),
        "last_rotated": isoformat(key.last_rotated),
        "retain_period_minutes": key.retain_period_minutes,
        "expires_at": isoformat(key.expires_at),
    }


def issued_json(issued: IssuedKey) -> dict[str, Any]:
    return {**key_json(issued.key), "key": issued.secret}


def _page(page: Page[Any], items: list[dict[str, Any]]) -> web.Response:
    body = {"items": items, "total": page.total, "page": page.page, "size": page.size}
    return web.json_response(body)


def _service(request: web.Request) -> ServiceAccounts:
    return request.app[SERVICES].service_accounts


def _changes(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": optional_text(body, "name", max_length=_NAME_MAX),
        "description": optional_text(body, "description", max_length=MAX_DESCRIPTION_LENGTH),
        "active": optional_bool(body, "active"),
    }


# -- accounts -----------------------------------------------------------------------------


async def create_account(request: web.Request) -> web.Response:
    await require_admin(request)
    body = await read_json(request)
    account = await _service(request).create_account(
        require_text(body, "name", max_length=_NAME_MAX),
        optional_text(body, "description", max_length=MAX_DESCRIPTION_LENGTH),
        active=optional_bool(body, "active") is not False,
    )
    return web.json_response(account_json(account), status=201)


async def list_accounts(request: web.Request) -> web.Response:
    await require_admin(request)
    page, size = pagination(request)
    name = request.query.get("name")
    if name is not None and len(name) > _NAME_MAX:
        raise ValidationFailed("the parameter 'name' is too long")
    found = await _service(request).list_accounts(
        name=name or None, active=query_bool(request, "active"), page=page, size=size
    )
    return _page(found, [account_json(a) for a in found.items])


async def get_account(request: web.Request) -> web.Response:
    await require_admin(request)
    account = await _service(request).find_account(request.match_info["account"])
    return web.json_response(account_json(account))


async def update_account(request: web.Request) -> web.Response:
    await require_admin(request)
    body = await read_json(request)
    account = await _service(request).update_account(
        request.match_info["account"], **_changes(body)
    )
    return web.json_response(account_json(account))


async def delete_account(request: web.Request) -> web.Response:
    await require_admin(request)
    await _service(request).delete_account(request.match_info["account"])
    return web.Response(status=204)


# -- keys ---------------------------------------------------------------------------------


async def create_key(request: web.Request) -> web.Response:
    await require_admin(request)
    body = await read_json(request)
    issued = await _service(request).create_key(
        request.match_info["account"],
        require_text(body, "name", max_length=_NAME_MAX),
        optional_text(body, "description", max_length=MAX_DESCRIPTION_LENGTH),
        expires_at=optional_timestamp(body, "expires_at"),
    )
    return web.json_response(issued_json(issued), status=201)


async def list_keys(request: web.Request) -> web.Response:
    await require_admin(request)
    page, size = pagination(request)
    found = await _service(request).list_keys(request.match_info["account"], page=page, size=size)
    return _page(found, [key_json(k) for k in found.items])


async def get_key(request: web.Request) -> web.Response:
    await require_admin(request)
    key = await _service(request).find_key(request.match_info["account"], request.match_info["key"])
    return web.json_response(key_json(key))


async def update_key(request: web.Request) -> web.Response:
    await require_admin(request)
    body = await read_json(request)
    key = await _service(request).update_key(
        request.match_info["account"], request.match_info["key"], **_changes(body)
    )
    return web.json_response(key_json(key))


async def rotate_key(request: web.Request) -> web.Response:
    await require_admin(request)
    body = await read_json(request)
    retain = optional_integer(body, "retain_period_minutes", default=0)
    issued = await _service(request).rotate_key(
        request.match_info["account"],
        request.match_info["key"],
        retain_period_minutes=retain,
        expires_at=optional_timestamp(body, "expires_at"),
    )
    return web.json_response(issued_json(issued))


async def delete_key(request: web.Request) -> web.Response:
    await require_admin(request)
    await _service(request).delete_key(request.match_info["account"], request.match_info["key"])
    return web.Response(status=204)


# -- login --------------------------------------------------------------------------------


async def api_key_grant(request: web.Request, fields: dict[str, str]) -> web.Response:
    """``grant_type=urn:zenml:params:oauth:grant-type:api-key`` (or the old spelling
    ``zenml-api-key``) with ``password=<key>``: a short-lived token for the key."""
    secret = fields.get("password")
    if not secret:
        raise InvalidRequestError(description="missing parameter: password")
    try:
        issued = await _service(request).login(secret, ip=client_ip(request))
    except InvalidCredentials:
        # RFC 6749 §5.2: the grant (the key) is bad, not the client, which is public.
        raise InvalidGrantError(description=INVALID_KEY) from None
    return token_response(issued)


def setup(app: web.Application) -> None:
    register_grant(app, API_KEY_GRANT, api_key_grant)
    account = BASE + "/{account}"
    key = account + "/api_keys/{key}"
    app.router.add_get(BASE, list_accounts)
    app.router.add_post(BASE, create_account)
    app.router.add_get(account, get_account)
    app.router.add_put(account, update_account)
    app.router.add_delete(account, delete_account)
    app.router.add_get(account + "/api_keys", list_keys)
    app.router.add_post(account + "/api_keys", create_key)
    app.router.add_get(key, get_key)
    app.router.add_put(key, update_key)
    app.router.add_delete(key, delete_key)
    app.router.add_put(key + "/rotate", rotate_key)
