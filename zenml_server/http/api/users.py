"""The current user, changing one's own password, and user administration (admins only).

``PUT /api/v1/current-user/password`` (JSON ``{old_password, new_password}``) ends every other
token and session of the user; the answer carries a new token for the credential that asked
(a device keeps its device and expiry), so the caller stays logged in.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from zenml_server.domain.clock import isoformat
from zenml_server.domain.errors import NotPermitted
from zenml_server.domain.models import Principal, PrincipalKind, User
from zenml_server.http.auth import require_admin, require_principal
from zenml_server.http.errors import NO_STORE
from zenml_server.http.forms import optional_bool, optional_text, read_json, require_text
from zenml_server.http.keys import SERVICES

_AUTH_METHOD = {
    PrincipalKind.USER: "password",
    PrincipalKind.DEVICE: "device",
    PrincipalKind.SERVICE_ACCOUNT: "api_key",
}


def user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "name": user.name,
        "is_admin": user.is_admin,
        "active": user.active,
        "created": isoformat(user.created),
        "updated": isoformat(user.updated),
    }


def principal_json(principal: Principal) -> dict[str, Any]:
    return {
        "id": principal.id,
        "name": principal.name,
        "is_admin": principal.is_admin,
        "is_service_account": principal.kind is PrincipalKind.SERVICE_ACCOUNT,
        "active": True,
        "auth": {
            "method": (
                "token_exchange" if principal.trust_policy_id else _AUTH_METHOD[principal.kind]
            ),
            "device_id": principal.device_id,
            "api_key_id": principal.api_key_id,
            "expires": isoformat(principal.expires),
        },
    }


async def current_user(request: web.Request) -> web.Response:
    return web.json_response(principal_json(await require_principal(request)))


async def list_users(request: web.Request) -> web.Response:
    await require_admin(request)
    users = await request.app[SERVICES].users.list()
    items = [user_json(u) for u in users]
    return web.json_response({"items": items, "total": len(items), "page": 1, "size": len(items)})


async def create_user(request: web.Request) -> web.Response:
    await require_admin(request)
    body = await read_json(request)
    user = await request.app[SERVICES].users.create(
        require_text(body, "name", max_length=128),
        optional_text(body, "password"),
        is_admin=bool(optional_bool(body, "is_admin")),
        active=optional_bool(body, "active") is not False,
    )
    return web.json_response(user_json(user), status=201)


async def get_user(request: web.Request) -> web.Response:
    await require_admin(request)
    user = await request.app[SERVICES].users.find(request.match_info["name_or_id"])
    return web.json_response(user_json(user))


async def update_user(request: web.Request) -> web.Response:
    await require_admin(request)
    body = await read_json(request)
    user = await request.app[SERVICES].users.update(
        request.match_info["name_or_id"],
        password=optional_text(body, "password"),
        active=optional_bool(body, "active"),
        is_admin=optional_bool(body, "is_admin"),
    )
    return web.json_response(user_json(user))


async def change_password(request: web.Request) -> web.Response:
    principal = await require_principal(request)
    if principal.kind is PrincipalKind.SERVICE_ACCOUNT:
        raise NotPermitted("a service account has no password")
    body = await read_json(request)
    old = require_text(body, "old_password", max_length=1024)
    new = require_text(body, "new_password", max_length=1024)
    services = request.app[SERVICES]
    user = await services.users.change_own_password(principal.id, old, new)
    if principal.kind is PrincipalKind.DEVICE:
        issued = services.device_flow.reissue(principal, user)
    else:
        issued = services.users.issue_token(user)
    answer = {
        "user": user_json(user),
        "access_token": issued.access_token,
        "token_type": "bearer",
        "expires_in": issued.expires_in,
        "device_id": principal.device_id,
    }
    return web.json_response(answer, headers=NO_STORE)


async def delete_user(request: web.Request) -> web.Response:
    await require_admin(request)
    await request.app[SERVICES].users.delete(request.match_info["name_or_id"])
    return web.Response(status=204)


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/current-user", current_user)
    app.router.add_get("/api/v1/users", list_users)
    app.router.add_post("/api/v1/users", create_user)
    app.router.add_get("/api/v1/users/{name_or_id}", get_user)
    app.router.add_put("/api/v1/users/{name_or_id}", update_user)
    app.router.add_delete("/api/v1/users/{name_or_id}", delete_user)
    app.router.add_put("/api/v1/current-user/password", change_password)
