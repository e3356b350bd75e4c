"""The records the server keeps, as plain dataclasses (no I/O, no framework)."""

from __future__ import annotations

import enum
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class User:
    """A person who logs in with a password."""

    id: str
    name: str
    password_hash: str | None
    is_admin: bool
    active: bool
    created: float
    updated: float
    # Bumped when the password changes or the user is deactivated: tokens carry the
    # generation they were issued under and stop working when it moves on.
    credentials_generation: int = 0


class DeviceStatus(enum.StrEnum):
    """Life of an authorized device (RFC 8628 device authorization).

    pending  -> the CLI asked, nobody approved yet
    verified -> a user approved; the next poll turns it into a token
    active   -> a token was issued and works until ``expires``
    locked   -> the owner (or too many wrong codes) locked it; its token is refused
    denied   -> the user refused the request
    expired  -> never approved in time
    """

    PENDING = "pending"
    VERIFIED = "verified"
    ACTIVE = "active"
    LOCKED = "locked"
    DENIED = "denied"
    EXPIRED = "expired"


class ApprovalVia(enum.StrEnum):
    """How the approver of a device was logged in when they approved it."""

    SESSION = "session"  # a browser session (the approval page)
    PASSWORD = "password"  # noqa: S105 - a token from a password login (not a secret)
    DEVICE = "device"  # another device's token (``approved_by_device_id``)


class LockedBy(enum.StrEnum):
    """Who locked a device: its owner, an admin (only an admin may lift it), or wrong codes."""

    OWNER = "owner"
    ADMIN = "admin"
    WRONG_CODES = "wrong_codes"


@dataclass(frozen=True, slots=True)
class Device:
    """One device authorization and, once approved, the device it authorizes."""

    id: str
    client_id: str
    user_id: str | None
    status: DeviceStatus
    trusted_device: bool
    # While pending/verified: when the codes stop working. When active: when the token does.
    expires: float
    interval: int
    last_poll: float | None
    failed_auth_attempts: int
    hostname: str | None
    os: str | None
    python_version: str | None
    client_version: str | None
    ip_address: str | None
    created: float
    updated: float
    last_login: float | None
    # True once a user approved it (status verified/active, or locked after approval).
    approved: bool = False
    user_name: str | None = None
    approved_via: ApprovalVia | None = None
    approved_by_device_id: str | None = None
    locked_by: LockedBy | None = None
    # The device whose lock or deletion locked this one (it approved this one, or an ancestor).
    locked_because_of: str | None = None
    # The client program and version the device reported, e.g. ``zenml-cli 0.4.0``.
    client_name: str | None = None


@dataclass(frozen=True, slots=True)
class ServiceAccount:
    """A non-human identity that authenticates with API keys."""

    id: str
    name: str
    description: str
    active: bool
    created: float
    updated: float
    # Tokens issued before this moment (the last deactivation) are refused for good.
    tokens_valid_after: float | None = None


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A service account's API key (the secret itself is never kept)."""

    id: str
    service_account_id: str
    service_account_name: str
    name: str
    description: str
    active: bool
    created: float
    updated: float
    last_login: float | None
    last_rotated: float | None
    retain_period_minutes: int
    # Bumped by every rotation; tokens carry the generation they came from.
    generation: int = 0
    # When the previous generation (the key before the last rotation) stops working.
    previous_expires: float | None = None
    # Tokens issued before this moment (the last deactivation) are refused for good.
    tokens_valid_after: float | None = None
    # When the key stops working (None: never); set at create and rotate.
    expires_at: float | None = None


@dataclass(frozen=True, slots=True)
class WebSession:
    """A browser session (the cookie value is stored only as a digest)."""

    user_id: str
    created: float
    expires: float


class PrincipalKind(enum.StrEnum):
    USER = "user"
    DEVICE = "device"
    SERVICE_ACCOUNT = "service_account"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is making an authenticated request, and through which credential."""

    kind: PrincipalKind
    id: str  # the user id, or the service account id
    name: str
    is_admin: bool
    device_id: str | None = None
    api_key_id: str | None = None
    # Set when a service account logged in by token exchange (keyless): under which policy.
    trust_policy_id: str | None = None
    # When the credential stops working (the token's expiry), if it has one.
    expires: float | None = None
