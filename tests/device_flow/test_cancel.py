"""POST /api/v1/device_authorization/cancel: a CLI that gives up withdraws its code, on each
engine."""

from __future__ import annotations

from typing import Any

from tests.builders import bearer
from tests.device_flow.builders import (
    CLIENT_ID,
    OTHER_CLIENT_ID,
    approve,
    device_id_of,
    poll,
    start,
)
from zenml_server.domain.clock import ManualClock
from zenml_server.http.keys import CLOCK

CANCEL = "/api/v1/device_authorization/cancel"


async def _cancel(client: Any, authorization: dict[str, Any], client_id: str = CLIENT_ID) -> Any:
    return await client.post(
        CANCEL, data={"client_id": client_id, "device_code": authorization["device_code"]}
    )


async def _poll_error(client: Any, authorization: dict[str, Any]) -> str:
    client.app[CLOCK].advance(10)
    resp = await poll(client, authorization)
    assert resp.status == 400, await resp.text()
    error: str = (await resp.json())["error"]
    return error


async def test_cancelled_code_can_no_longer_be_approved(client: Any, admin_token: str) -> None:
    """After cancel, approving the user code is refused as expired and the poll is
    expired_token: nobody who saw the code can still log the device in."""
    authorization = await start(client)
    resp = await _cancel(client, authorization)
    assert resp.status == 200 and resp.headers["Cache-Control"] == "no-store"
    resp = await approve(client, admin_token, authorization)
    assert resp.status == 400
    assert "expired" in (await resp.json())["detail"]
    assert await _poll_error(client, authorization) == "expired_token"


async def test_cancel_is_idempotent_and_says_nothing_about_unknown_codes(client: Any) -> None:
    """A second cancel, and a cancel of a code that never existed, both answer 200."""
    authorization = await start(client)
    assert (await _cancel(client, authorization)).status == 200
    assert (await _cancel(client, authorization)).status == 200
    assert (await _cancel(client, {"device_code": "no-such-code"})).status == 200


async def test_another_client_cannot_cancel(client: Any, admin_token: str) -> None:
    """Only the client_id that asked can cancel: another's cancel leaves the code approvable."""
    authorization = await start(client)
    assert (await _cancel(client, authorization, client_id=OTHER_CLIENT_ID)).status == 200
    resp = await approve(client, admin_token, authorization)
    assert resp.status == 200, await resp.text()


async def test_cancel_after_approval_before_collection_gives_no_token(
    client: Any, admin_token: str
) -> None:
    """Approved in the browser but cancelled before the poll: the token is never issued."""
    authorization = await start(client)
    assert (await approve(client, admin_token, authorization)).status == 200
    assert (await _cancel(client, authorization)).status == 200
    assert await _poll_error(client, authorization) == "expired_token"
    resp = await client.get(
        f"/api/v1/devices/{device_id_of(authorization)}", headers=bearer(admin_token)
    )
    assert (await resp.json())["status"] == "expired"


async def test_cancel_leaves_a_collected_device_alone(client: Any, admin_token: str) -> None:
    """A device whose token was collected is not touched: cancel only ends pending logins."""
    authorization = await start(client)
    await approve(client, admin_token, authorization)
    token = (await (await poll(client, authorization)).json())["access_token"]
    assert (await _cancel(client, authorization)).status == 200
    resp = await client.get("/api/v1/current-user", headers=bearer(token))
    assert resp.status == 200


async def test_cancel_needs_both_parameters(client: Any) -> None:
    """A missing client_id or device_code is invalid_request (RFC 6749 shape), nothing changed."""
    for data in ({"client_id": CLIENT_ID}, {"device_code": "x"}, {}):
        resp = await client.post(CANCEL, data=data)
        assert resp.status == 400
        body = await resp.json()
        assert set(body) == {"error", "error_description"}
        assert body["error"] == "invalid_request"


async def test_cancel_is_rate_limited_per_address(client: Any) -> None:
    """Past the per-address budget a cancel answers 429, until time passes."""
    statuses = [(await _cancel(client, {"device_code": f"c{i}"})).status for i in range(25)]
    assert statuses[:20] == [200] * 20
    assert statuses[-1] == 429
    clock: ManualClock = client.app[CLOCK]
    clock.advance(60)
    assert (await _cancel(client, {"device_code": "later"})).status == 200
