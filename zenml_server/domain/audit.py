"""Audit events: who did what to which target, from where, in which request (no I/O).

Who is acting is carried in a context variable set by the HTTP layer for each request (and by
the ``zenml-server`` command), so services record events without every signature growing a
parameter. A row never holds a secret: targets are named by id and name only, and ``detail``
takes only values the caller chose to show (never a key, code, token or password).
"""

from __future__ import annotations

import contextvars
import enum
import itertools
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any


class Outcome(enum.StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: a user, a service account, a device's user, someone not logged in, or the
    server itself; ``credential`` says through what (``password``, ``session``,
    ``device:<id>``, ``api_key:<id>``, ``console``)."""

    kind: str  # user | service_account | device | anonymous | system
    id: str | None = None
    name: str | None = None
    credential: str | None = None


ANONYMOUS = Actor("anonymous")
SYSTEM = Actor("system", credential="console")


@dataclass(frozen=True, slots=True)
class AuditScope:
    """What the current request (or command) tells every event it records."""

    actor: Actor = ANONYMOUS
    client_ip: str | None = None
    request_id: str | None = None


# How to learn the current scope: set once per request, and only called when an event is
# recorded (so a request that records nothing pays nothing for working out who and where).
ScopeResolver = Callable[[], AuditScope]
_SYSTEM_SCOPE = AuditScope(SYSTEM)


def _system() -> AuditScope:
    return _SYSTEM_SCOPE


_RESOLVER: contextvars.ContextVar[ScopeResolver] = contextvars.ContextVar(
    "audit_scope", default=_system
)


def current_scope() -> AuditScope:
    return _RESOLVER.get()()


def enter_scope(resolver: ScopeResolver) -> contextvars.Token[ScopeResolver]:
    """Events recorded in this context (a request's task) ask ``resolver`` who acts."""
    return _RESOLVER.set(resolver)


def leave_scope(token: contextvars.Token[ScopeResolver]) -> None:
    _RESOLVER.reset(token)


_SEQUENCE = itertools.count()
_PROCESS = uuid.uuid4().hex[:8]


def new_event_id() -> str:
    """Ids that sort in the order this process made them (events of one instant keep their
    order when listed), unique across processes."""
    return f"{time.time_ns():020d}{next(_SEQUENCE):012d}{_PROCESS}"


@dataclass(frozen=True, slots=True)
class AuditEvent:
    action: str  # e.g. "api_key.rotated", "login.password"
    created: float
    actor: Actor
    outcome: Outcome = Outcome.SUCCESS
    target_kind: str | None = None
    target_id: str | None = None
    target_name: str | None = None
    client_ip: str | None = None
    request_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=lambda: new_event_id())

    def about(self, kind: str, target_id: str | None, name: str | None = None) -> AuditEvent:
        return replace(self, target_kind=kind, target_id=target_id, target_name=name)


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Filters for listing events (all optional), newest first."""

    actor: str | None = None  # actor id or name
    action: str | None = None  # exact, or a prefix ending in "." (e.g. "device.")
    target: str | None = None  # target id or name
    since: float | None = None
    until: float | None = None
