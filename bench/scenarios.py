"""What is measured: the credentials set up first, and each scenario's requests and targets."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

import aiohttp
import jwt

from bench import client
from bench.servers import ADMIN_PASSWORD, JWT_SECRET
from bench.wrk import RequestSpec

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
CURRENT_USER = "/api/v1/current-user"


@dataclass(frozen=True)
class Fixtures:
    admin_token: str
    device_token: str
    api_key: str
    api_key_token: str
    reference_token: str


async def prepare(url: str) -> Fixtures:
    """Log in as admin, log a device in, make a service account with a key and its token."""
    async with aiohttp.ClientSession() as http:
        admin = await client.password_token(http, url)
        _, device_token = await client.device_flow(http, url, admin)
        key = await client.create_api_key(http, url, admin)
        key_token = await client.api_key_token(http, url, key.secret)
    now = int(time.time())
    reference = jwt.encode(
        {"sub": "bench", "iat": now, "exp": now + 86400}, JWT_SECRET, algorithm="HS256"
    )
    return Fixtures(admin, device_token, key.secret, key_token, reference)


async def pending_polls(url: str, count: int) -> tuple[str, ...]:
    """``count`` pending authorizations, as device-code grant form bodies."""
    async with aiohttp.ClientSession() as http:
        sem = asyncio.Semaphore(16)

        async def one() -> client.Authorization:
            async with sem:
                return await client.authorize(http, url)

        auths = await asyncio.gather(*(one() for _ in range(count)))
    return tuple(
        urlencode(
            {
                "grant_type": client.DEVICE_CODE_GRANT,
                "client_id": a.client_id,
                "device_code": a.device_code,
            }
        )
        for a in auths
    )


def _get(path: str, token: str) -> RequestSpec:
    return RequestSpec("GET", path, client.bearer(token))


def _post(path: str, bodies: tuple[str, ...], **headers: str) -> RequestSpec:
    return RequestSpec("POST", path, {**FORM, **headers}, bodies)


def _ref_like(spec: RequestSpec, fx: Fixtures) -> RequestSpec:
    """The reference's request: the same method and body, with the reference's JWT."""
    headers = {**spec.headers, **client.bearer(fx.reference_token)}
    return RequestSpec(spec.method, "/", headers, spec.bodies)


SpecFn = Callable[[Fixtures, tuple[str, ...]], RequestSpec]


@dataclass(frozen=True)
class Target:
    """A check on a result row: ``what`` is shown in the report."""

    what: str
    metric: str  # ratio | p99_ms | rps | a name in Row.figures
    limit: float
    at_least: bool = True

    def met(self, value: float | None) -> bool | None:
        if value is None:
            return None
        return value >= self.limit if self.at_least else value < self.limit


@dataclass(frozen=True)
class Scenario:
    name: str
    reference: str  # json | jwt | sqlite
    ours: SpecFn
    connections: int = 50
    threads: int = 2
    pending: int = 0  # pending authorizations to create first (poll scenarios)
    count: bool = False  # count answers by status and OAuth error
    targets: tuple[Target, ...] = field(default_factory=tuple)

    def reference_spec(self, fx: Fixtures, pending: tuple[str, ...]) -> RequestSpec:
        return _ref_like(self.ours(fx, pending), fx)


def _api_key_login(fx: Fixtures, _: tuple[str, ...]) -> RequestSpec:
    body = urlencode({"grant_type": "zenml-api-key", "password": fx.api_key})
    return _post("/api/v1/login", (body,))


def _password_login(fx: Fixtures, _: tuple[str, ...]) -> RequestSpec:
    body = urlencode({"username": "admin", "password": ADMIN_PASSWORD})
    return _post("/api/v1/login", (body,))


def _device_authorization(fx: Fixtures, _: tuple[str, ...]) -> RequestSpec:
    bodies = tuple(urlencode({"client_id": str(uuid.uuid4())}) for _ in range(64))
    return _post("/api/v1/device_authorization", bodies, **{"User-Agent": client.USER_AGENT})


def _poll(fx: Fixtures, pending: tuple[str, ...]) -> RequestSpec:
    return _post("/api/v1/login", pending)


def current_user(token: str) -> RequestSpec:
    return _get(CURRENT_USER, token)


def _current_user(attr: str) -> SpecFn:
    return lambda fx, _: current_user(getattr(fx, attr))


GET_TARGETS = (
    Target(">= 0.8 x PyJWT ref", "ratio", 0.8),
    Target("p99 < 25 ms", "p99_ms", 25, False),
)
C1_TARGET = (Target("p99 < 2 ms at 1 conn", "p99_ms", 2, False),)
POLL_PENDING = 2000

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "health",
        "json",
        lambda fx, _: RequestSpec("GET", "/health"),
        targets=(Target(">= 0.8 x bare JSON", "ratio", 0.8),),
    ),
    Scenario(
        "current-user device token", "jwt", _current_user("device_token"), targets=GET_TARGETS
    ),
    Scenario(
        "current-user API-key token", "jwt", _current_user("api_key_token"), targets=GET_TARGETS
    ),
    Scenario("current-user raw API key", "jwt", _current_user("api_key"), targets=GET_TARGETS),
    Scenario(
        "API-key login",
        "jwt",
        _api_key_login,
        count=True,
        targets=(Target(">= 0.5 x PyJWT ref", "ratio", 0.5),),
    ),
    # argon2 answers a few dozen a second: with 50 connections every answer would wait for
    # seconds behind the others, so this one runs on 8.
    Scenario("password login", "jwt", _password_login, connections=8, count=True),
    Scenario(
        "device_authorization",
        "sqlite",
        _device_authorization,
        count=True,
        targets=(Target(">= 0.2 x ref", "ratio", 0.2),),
    ),
    Scenario(
        "pending poll",
        "sqlite",
        _poll,
        pending=POLL_PENDING,
        count=True,
        targets=(Target(">= 0.5 x ref", "ratio", 0.5),),
    ),
    Scenario(
        "current-user device, 1 conn",
        "jwt",
        _current_user("device_token"),
        connections=1,
        threads=1,
        targets=C1_TARGET,
    ),
    Scenario(
        "pending poll, 1 conn",
        "sqlite",
        _poll,
        connections=1,
        threads=1,
        pending=POLL_PENDING,
        count=True,
        targets=C1_TARGET,
    ),
)

SEEDED = (
    "current-user device token",
    "current-user API-key token",
    "current-user raw API key",
    "pending poll",
    "current-user device, 1 conn",
    "pending poll, 1 conn",
)


def by_name(name: str) -> Scenario:
    for scenario in SCENARIOS:
        if scenario.name == name:
            return scenario
    raise KeyError(name)
