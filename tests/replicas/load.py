"""Device logins as a load, with a ledger of every answer, for the replica suite.

Each client repeats a whole device login through nginx: authorize, approve (as the admin),
poll for the token, use it. Every answer is checked: a 500, or any answer that is not right
for the request, goes to ``wrong``; a request that got no answer from a replica (connection
failed, or nginx's 502/504 for a replica that died mid-request) counts as a transport failure.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from tests.builders import ADMIN_PASSWORD

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
NO_ANSWER = frozenset({502, 504})
_TIMEOUT = aiohttp.ClientTimeout(total=30)


@dataclass
class Ledger:
    statuses: Counter[int] = field(default_factory=Counter)
    transport_failures: int = 0
    wrong: list[str] = field(default_factory=list)
    flows: int = 0
    approved: dict[str, str] = field(default_factory=dict)  # device id -> device code
    tokens: Counter[str] = field(default_factory=Counter)  # device code -> tokens issued

    @property
    def doubled(self) -> int:
        return sum(1 for n in self.tokens.values() if n > 1)

    def summary(self) -> dict[str, Any]:
        return {
            "flows": self.flows,
            "requests": sum(self.statuses.values()) + self.transport_failures,
            "503": self.statuses[503],
            "500": self.statuses[500],
            "no_answer": self.transport_failures,
            "wrong": len(self.wrong),
            "doubled": self.doubled,
        }


class _NoAnswer(Exception):
    pass


async def _call(
    http: aiohttp.ClientSession, ledger: Ledger, method: str, url: str, **kwargs: Any
) -> tuple[int, Any]:
    try:
        async with http.request(method, url, timeout=_TIMEOUT, **kwargs) as resp:
            raw = await resp.read()
            status = resp.status
    except (aiohttp.ClientError, TimeoutError):
        ledger.transport_failures += 1
        raise _NoAnswer from None
    if status in NO_ANSWER:
        ledger.transport_failures += 1
        raise _NoAnswer
    ledger.statuses[status] += 1
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = raw
    return status, body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def admin_token(http: aiohttp.ClientSession, url: str) -> str:
    form = {"username": "admin", "password": ADMIN_PASSWORD}
    async with http.post(url + "/api/v1/login", data=form) as resp:
        assert resp.status == 200, await resp.text()
        return str((await resp.json())["access_token"])


class Flows:
    """Device logins against ``url`` recorded in ``ledger``; 503 is a right answer only when
    ``allow_503`` (the database is being restarted)."""

    def __init__(
        self, http: aiohttp.ClientSession, url: str, admin: str, ledger: Ledger, *, allow_503: bool
    ) -> None:
        self._http, self._url, self._admin, self._ledger = http, url, admin, ledger
        self._allow_503 = allow_503

    def _wrong(self, what: str, status: int, body: Any) -> None:
        self._ledger.wrong.append(f"{what}: {status} {str(body)[:200]}")

    async def _retrying(self, what: str, method: str, path: str, ok: set[int], **kw: Any) -> Any:
        """Send until an answer other than 503 / no answer comes (bounded)."""
        for _ in range(200):
            try:
                status, body = await _call(self._http, self._ledger, method, self._url + path, **kw)
            except _NoAnswer:
                await asyncio.sleep(0.05)
                continue
            if status == 503 and self._allow_503:
                await asyncio.sleep(0.05)
                continue
            if status not in ok:
                self._wrong(what, status, body)
                return None
            return status, body
        self._wrong(what, 0, "no answer after 200 tries")
        return None

    async def one(self, polls: int = 1) -> str | None:
        """One whole device login; return the device token (None when it went wrong)."""
        client_id = str(uuid.uuid4())
        got = await self._retrying(
            "device_authorization",
            "POST",
            "/api/v1/device_authorization",
            {200},
            data={"client_id": client_id},
        )
        if got is None:
            return None
        auth = got[1]
        device_id = auth["verification_uri_complete"].split("device_id=")[1].split("&")[0]
        if not await self._approve(device_id, auth["user_code"]):
            return None
        self._ledger.approved[device_id] = auth["device_code"]
        form = {
            "grant_type": DEVICE_CODE_GRANT,
            "client_id": client_id,
            "device_code": auth["device_code"],
        }
        token = await self._poll(form, polls)
        if token is None:
            return None
        used = await self._retrying(
            "current-user", "GET", "/api/v1/current-user", {200}, headers=bearer(token)
        )
        if used is not None:
            self._ledger.flows += 1
        return token

    async def _approve(self, device_id: str, user_code: str) -> bool:
        lost_answer = False
        for _ in range(200):
            try:
                status, body = await _call(
                    self._http,
                    self._ledger,
                    "PUT",
                    f"{self._url}/api/v1/devices/{device_id}/verify",
                    json={"user_code": user_code, "trusted_device": False},
                    headers=bearer(self._admin),
                )
            except _NoAnswer:
                lost_answer = True
                await asyncio.sleep(0.05)
                continue
            if status == 503 and self._allow_503:
                await asyncio.sleep(0.05)
                continue
            if status == 200 or (lost_answer and status == 409):
                return True  # a retried approval whose first answer was lost
            self._wrong("approve", status, body)
            return False
        self._wrong("approve", 0, "no answer after 200 tries")
        return False

    async def _poll(self, form: dict[str, str], polls: int) -> str | None:
        """``polls`` concurrent polls; exactly one may get the token."""
        results = await asyncio.gather(*(self._poll_one(form) for _ in range(polls)))
        tokens = [t for t in results if t]
        self._ledger.tokens[form["device_code"]] += len(tokens)
        return tokens[0] if tokens else None

    async def _poll_one(self, form: dict[str, str]) -> str | None:
        for _ in range(200):
            try:
                status, body = await _call(
                    self._http, self._ledger, "POST", self._url + "/api/v1/login", data=form
                )
            except _NoAnswer:
                await asyncio.sleep(0.05)
                continue
            if status == 503 and self._allow_503:
                await asyncio.sleep(0.05)
                continue
            if status == 200 and isinstance(body, dict) and body.get("access_token"):
                return str(body["access_token"])
            error = body.get("error") if isinstance(body, dict) else None
            if status == 400 and error == "slow_down":
                return None  # a concurrent poll: refused, rightly
            if status == 400 and error == "invalid_grant":
                # Rightly refused when another poll (or this one's lost answer) took the token.
                return None
            self._wrong("poll", status, body)
            return None
        self._wrong("poll", 0, "no answer after 200 tries")
        return None


async def run_load(flows: Flows, clients: int, seconds: float) -> None:
    """``clients`` clients doing device logins back to back for ``seconds``."""
    deadline = time.monotonic() + seconds

    async def client() -> None:
        while time.monotonic() < deadline:
            await flows.one()

    await asyncio.gather(*(client() for _ in range(clients)))


async def approved_devices_lost(
    http: aiohttp.ClientSession, url: str, admin: str, ledger: Ledger
) -> list[str]:
    """Devices whose approval was answered 200 but that are not active now."""
    lost = []
    for device_id in ledger.approved:
        async with http.get(f"{url}/api/v1/devices/{device_id}", headers=bearer(admin)) as resp:
            body = await resp.json()
            if resp.status != 200 or body.get("status") != "active":
                lost.append(device_id)
    return lost


async def _until_refused(http: aiohttp.ClientSession, url: str, token: str, since: float) -> float:
    async with asyncio.timeout(10):
        while True:
            async with http.get(url + "/api/v1/current-user", headers=bearer(token)) as resp:
                await resp.read()
                if resp.status == 401:
                    return time.monotonic() - since


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (p99 of 100 values is the 99th)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


async def lock_reaches_replicas(
    http: aiohttp.ClientSession, via: str, others: list[str], admin: str, trials: int
) -> list[float]:
    """Seconds from a lock's answer on ``via`` to each other replica's first 401."""
    ledger = Ledger()
    flows = Flows(http, via, admin, ledger, allow_503=False)
    times: list[float] = []
    for _ in range(trials):
        token = await flows.one()
        assert token is not None, ledger.wrong
        device_id = next(reversed(ledger.approved))
        for other in others:  # each replica caches the device as active
            async with http.get(other + "/api/v1/current-user", headers=bearer(token)) as resp:
                assert resp.status == 200, await resp.text()
        async with http.put(
            f"{via}/api/v1/devices/{device_id}", json={"locked": True}, headers=bearer(admin)
        ) as resp:
            assert resp.status == 200, await resp.text()
        locked_at = time.monotonic()
        times += await asyncio.gather(
            *(_until_refused(http, other, token, locked_at) for other in others)
        )
    assert not ledger.wrong, ledger.wrong
    return times
