"""The caller's authorized devices: list, describe, lock/unlock, delete.

Locking or deleting a device locks every device it approved, transitively; the answer lists
them in ``also_locked``. A lock set by an admin is lifted only by an admin (403 otherwise).
"""

from __future__ import annotations

from aiohttp import web

from zenml_server.domain.models import Device, DeviceStatus
from zenml_server.http.api.device_flow import device_json
from zenml_server.http.auth import require_principal
from zenml_server.http.errors import ValidationFailed
from zenml_server.http.forms import optional_bool, pagination, query_bool, read_json
from zenml_server.http.keys import SERVICES


def _status(request: web.Request) -> DeviceStatus | None:
    raw = request.query.get("status")
    if raw is None:
        return None
    try:
        return DeviceStatus(raw)
    except ValueError:
        allowed = ", ".join(s.value for s in DeviceStatus)
        raise ValidationFailed(f"status must be one of {allowed}") from None


async def list_devices(request: web.Request) -> web.Response:
    caller = await require_principal(request)
    page, size = pagination(request)
    result = await request.app[SERVICES].devices.list(
        caller,
        owner=request.query.get("user"),
        everyone=query_bool(request, "all") is True,
        status=_status(request),
        trusted=query_bool(request, "trusted_device"),
        page=page,
        size=size,
    )
    return web.json_response(
        {
            "items": [device_json(d) for d in result.items],
            "total": result.total,
            "page": result.page,
            "size": result.size,
        }
    )


async def get_device(request: web.Request) -> web.Response:
    caller = await require_principal(request)
    device = await request.app[SERVICES].devices.get(caller, request.match_info["device_id"])
    return web.json_response(device_json(device))


async def update_device(request: web.Request) -> web.Response:
    caller = await require_principal(request)
    body = await read_json(request)
    unknown = set(body) - {"locked"}
    if unknown:
        raise ValidationFailed(f"unknown fields: {', '.join(sorted(unknown))}")
    locked = optional_bool(body, "locked")
    if locked is None:
        raise ValidationFailed("the field 'locked' is required")
    outcome = await request.app[SERVICES].devices.set_locked(
        caller, request.match_info["device_id"], locked
    )
    assert outcome.device is not None
    body = device_json(outcome.device)
    body["also_locked"] = [_summary(d) for d in outcome.also_locked]
    return web.json_response(body)


async def delete_device(request: web.Request) -> web.Response:
    """Delete, and say which devices it had approved were locked with it."""
    caller = await require_principal(request)
    device_id = request.match_info["device_id"]
    outcome = await request.app[SERVICES].devices.delete(caller, device_id)
    body = {"id": device_id, "also_locked": [_summary(d) for d in outcome.also_locked]}
    return web.json_response(body)


def _summary(device: Device) -> dict[str, str | None]:
    """A device locked along with another: enough to name it."""
    return {"id": device.id, "hostname": device.hostname}


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/devices", list_devices)
    app.router.add_get("/api/v1/devices/{device_id}", get_device)
    app.router.add_put("/api/v1/devices/{device_id}", update_device)
    app.router.add_delete("/api/v1/devices/{device_id}", delete_device)
