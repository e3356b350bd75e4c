"""The device authorization grant (RFC 8628), and the device tokens it issues.

- ``authorize``: a CLI asks (§3.1-3.2); a pending authorization is stored with digests of
  its codes.
- (``services/approvals.py``: a logged-in user looks at it, then approves or denies, §3.3.)
- ``poll``: the CLI asks for its token (§3.4-3.5); the checks run in the order of §3.5 and
  the token is issued at most once, by a conditional UPDATE in the transaction that signs it.
- ``verify_token``: every request with a device token checks the device from the per-process
  credential cache, so a lock or delete is refused on the very next request.
"""

from __future__ import annotations

import enum
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from zenml_server.domain.errors import (
    CredentialLocked,
    DomainError,
    InvalidCredentials,
    InvalidInput,
    RateLimited,
)
from zenml_server.domain.models import (
    ApprovalVia,
    Device,
    DeviceStatus,
    LockedBy,
    Principal,
    PrincipalKind,
    User,
)
from zenml_server.domain.secrets import (
    digest,
    format_user_code,
    new_token,
    new_user_code,
    same_text,
)
from zenml_server.services.approval_rules import capped_lifetime
from zenml_server.services.auth import principal_for
from zenml_server.services.tokens import IssuedToken
from zenml_server.services.wiring import Wiring
from zenml_server.storage.db import UniqueViolation
from zenml_server.storage.devices import DeviceMetadata, DeviceStore

log = logging.getLogger(__name__)
TOKEN_KIND = "device"  # noqa: S105 - a token kind, not a secret
# RFC 8628 §3.5: each slow_down adds 5 seconds to the interval, for good.
SLOW_DOWN_STEP = 5
# How much earlier than the interval a poll may come and still count as on time.
POLL_JITTER = 1.0
_MAX_DEVICE_CODE_LENGTH = 128
MAX_CLIENT_ID_LENGTH = 128
# Unexpired authorizations waiting for approval that one client address may hold (times
# ZENML_SERVER_RATE_LIMIT_SCALE, like every per-address budget).
MAX_PENDING_PER_ADDRESS = 10
_CODE_ATTEMPTS = 5
# How long after an unapproved code expired (and its authorization was deleted) the approval
# page still says "this code has expired" rather than "that code is not right".
EXPIRED_CODE_MEMORY = 24 * 3600.0


class PollError(enum.StrEnum):
    """The RFC 8628 §3.5 / RFC 6749 §5.2 answers a poll can get instead of a token."""

    INVALID_GRANT = "invalid_grant"
    EXPIRED_TOKEN = "expired_token"  # noqa: S105 - an RFC 8628 error code
    SLOW_DOWN = "slow_down"
    ACCESS_DENIED = "access_denied"
    AUTHORIZATION_PENDING = "authorization_pending"


class PollRefused(DomainError):
    """A token request that gets no token (yet); ``error`` says which RFC answer."""

    def __init__(self, error: PollError, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.error = error
        self.retry_after = retry_after


# What the holder of a locked device's token is told (the CLI repeats it).
_TOKEN_LOCKED_MESSAGES = {
    LockedBy.OWNER: "this device is locked (by its owner)",
    LockedBy.ADMIN: "this device is locked (by an administrator)",
    LockedBy.WRONG_CODES: "this device is locked (after too many wrong codes)",
}


@dataclass(frozen=True)
class Authorization:
    """What the CLI is told (RFC 8628 §3.2); the codes are shown here and nowhere else."""

    device: Device
    device_code: str
    user_code: str  # formatted, XXXX-XXXX
    expires_in: int
    interval: int


class DeviceFlow:
    def __init__(self, wiring: Wiring) -> None:
        self._store = wiring.store
        self._devices: DeviceStore = wiring.store.devices
        self._tokens = wiring.tokens
        self._auth = wiring.auth
        self._revocations = wiring.revocations
        self._last_used = wiring.last_used
        self._clock = clock = wiring.clock
        self._settings = wiring.settings
        self._audit = wiring.audit
        self._events = wiring.events
        scale = wiring.settings.rate_limit_scale
        limits = wiring.rate_limits
        self._authorize_per_ip = limits.new(
            "device_authorization_per_address",
            burst=20,
            per_minute=20,
            what="device authorizations",
        )
        self._cancel_per_ip = limits.new(
            "device_cancel_per_address", burst=20, per_minute=20, what="cancellations"
        )
        self._max_pending = max(1, int(MAX_PENDING_PER_ADDRESS * scale))
        self._wrong_device_code_per_ip = limits.new(
            "unknown_device_code_per_address",
            burst=20,
            per_minute=20,
            what="polls with unknown device codes",
        )
        wiring.auth.register_token_kind(TOKEN_KIND, self.verify_token)
        wiring.last_used.register(TOKEN_KIND, self._devices.touch_many)
        wiring.housekeeping.register(
            "device_authorizations",
            lambda: self._devices.prune_expired_authorizations(
                clock.now(), remember=EXPIRED_CODE_MEMORY
            ),
        )

    # -- the CLI's side ----------------------------------------------------------------------

    async def authorize(self, client_id: str, metadata: DeviceMetadata) -> Authorization:
        """Record a pending authorization (RFC 8628 §3.1); never touches an existing device.

        Raises InvalidInput for a client_id that is not 1-128 VSCHARs, RateLimited past the
        per-address budget or with ``MAX_PENDING_PER_ADDRESS`` (scaled) authorizations from
        this address already waiting (an unauthenticated flood cannot fill the table).
        """
        client_id = _client_id(client_id)
        ip = metadata.ip_address or ""
        self._authorize_per_ip.hit(ip)
        now = self._clock.now()
        if await self._devices.count_pending_from(ip, now) >= self._max_pending:
            raise RateLimited(
                "too many device logins from this address wait for approval; try again later",
                self._settings.device_auth_timeout / self._max_pending,
            )
        timeout = self._settings.device_auth_timeout
        interval = self._settings.device_auth_polling_interval
        for attempt in range(_CODE_ATTEMPTS):
            device_code, user_code = new_token(32), new_user_code()
            try:
                device = await self._devices.create_authorization(
                    client_id=client_id,
                    device_code_digest=digest(device_code),
                    user_code_digest=digest(user_code),
                    expires=now + timeout,
                    interval=interval,
                    metadata=metadata,
                    now=now,
                )
            except UniqueViolation:
                # A user code collides once in ~2**34 draws per stored code: draw again.
                if attempt == _CODE_ATTEMPTS - 1:
                    raise
                continue
            self._events.inc("device_flow", "started")
            return Authorization(
                device, device_code, format_user_code(user_code), timeout, interval
            )
        raise AssertionError("unreachable")  # pragma: no cover

    async def poll(
        self, client_id: str, device_code: str, *, ip: str
    ) -> tuple[IssuedToken, Device]:
        """The token for an approved authorization, once (RFC 8628 §3.4-3.5).

        Checks, in order: unknown code (or another client's) -> invalid_grant, counted only
        against the polling address (past its budget every poll from there gets slow_down
        with ``retry_after``); expired -> expired_token; too fast -> slow_down (+5 s for
        good); denied or locked -> access_denied; pending -> authorization_pending. Raises
        PollRefused for each. Polls never count toward locking an authorization.
        """
        now = self._clock.now()
        try:
            self._wrong_device_code_per_ip.check(ip)
        except RateLimited as exc:
            raise PollRefused(
                PollError.SLOW_DOWN,
                "too many unknown device codes from this address; slow down",
                retry_after=exc.retry_after,
            ) from None
        try:
            client_id = _client_id(client_id)
        except InvalidInput:
            self._wrong_device_code_per_ip.spend(ip)
            raise PollRefused(PollError.INVALID_GRANT, "unknown device code") from None
        device = None
        if len(device_code) <= _MAX_DEVICE_CODE_LENGTH:
            device = await self._devices.get_by_device_code(digest(device_code))
        if device is None or not same_text(device.client_id, client_id):
            self._wrong_device_code_per_ip.spend(ip)
            raise PollRefused(PollError.INVALID_GRANT, "unknown device code")
        if _spent(device):
            raise PollRefused(PollError.INVALID_GRANT, "this device code was already used")
        if device.expires <= now:
            self._events.inc("device_flow", "expired")
            raise PollRefused(PollError.EXPIRED_TOKEN, "the device code has expired")
        too_fast = (
            device.last_poll is not None and now - device.last_poll < device.interval - POLL_JITTER
        )
        interval = device.interval + SLOW_DOWN_STEP if too_fast else device.interval
        on_time = await self._devices.record_poll(
            device.id, seen_last_poll=device.last_poll, interval=interval, now=now
        )
        if too_fast or not on_time:
            raise PollRefused(
                PollError.SLOW_DOWN, f"polling too fast: wait at least {interval} seconds"
            )
        if device.status in (DeviceStatus.DENIED, DeviceStatus.LOCKED):
            raise PollRefused(PollError.ACCESS_DENIED, self._refusal(device))
        if device.status is DeviceStatus.PENDING:
            raise PollRefused(PollError.AUTHORIZATION_PENDING, "waiting for the user to approve")
        return await self._issue(device, now)

    def _refusal(self, device: Device) -> str:
        """Why a denied or locked authorization gets no token, in one sentence."""
        if device.status is DeviceStatus.DENIED:
            return "the login was denied in the browser"
        if device.locked_by is LockedBy.WRONG_CODES or (
            device.locked_by is None
            and device.failed_auth_attempts >= self._settings.max_failed_device_auth_attempts
        ):
            return "the login request was locked after too many wrong codes"
        if device.locked_because_of is not None:
            return "this device was locked along with the device that approved it"
        if device.locked_by is LockedBy.OWNER:
            return "this device was locked by its owner"
        return "this device was locked by an admin"

    async def cancel(self, client_id: str, device_code: str, ip: str) -> bool:
        """The CLI withdraws its own pending authorization (Ctrl-C, --timeout): its codes stop
        working at once, so nobody can approve them any more. Idempotent: False when there
        was nothing left to cancel (unknown, another client's, already decided or spent).

        Rate limited per address (RateLimited).
        """
        self._cancel_per_ip.hit(ip)
        try:
            client_id = _client_id(client_id)
        except InvalidInput:
            return False
        if len(device_code) > _MAX_DEVICE_CODE_LENGTH:
            return False
        cancelled = await self._devices.cancel_authorization(
            digest(device_code),
            client_id=client_id,
            now=self._clock.now(),
            audit=lambda d: self._audit.event(
                "device.cancelled", target=("device", d.id, d.hostname)
            ),
        )
        if cancelled is not None:
            log.info("device authorization %s cancelled by its client", cancelled.id)
        return cancelled is not None

    async def _issue(self, device: Device, now: float) -> tuple[IssuedToken, Device]:
        user = None if device.user_id is None else await self._auth.user(device.user_id)
        if user is None or not user.active:
            raise PollRefused(PollError.ACCESS_DENIED, "the approving user is not active")
        settings = self._settings
        minutes = (
            settings.trusted_device_expiration_minutes
            if device.trusted_device
            else settings.device_expiration_minutes
        )
        lifetime = await self._lifetime(device, minutes * 60, now)
        async with self._store.db.transaction() as conn:
            issued = self._tokens.issue(
                TOKEN_KIND,
                user.id,
                lifetime,
                device_id=device.id,
                gen=user.credentials_generation,
            )
            active = await DeviceStore.activate(
                conn, device.id, token_expires=issued.expires, now=now
            )
            if active is not None:
                event = self._audit.event(
                    "device.authorized",
                    target=("device", device.id, device.hostname),
                    user=user.name,
                )
                await self._audit.record(conn, event)
        if active is None:
            # Another poll won, or the code expired or was locked in between.
            current = await self._devices.get(device.id)
            if current is not None and not _spent(current) and current.expires <= now:
                self._events.inc("device_flow", "expired")
                raise PollRefused(PollError.EXPIRED_TOKEN, "the device code has expired")
            if current is not None and current.status is DeviceStatus.LOCKED:
                raise PollRefused(PollError.ACCESS_DENIED, "the device login was locked")
            raise PollRefused(PollError.INVALID_GRANT, "this device code was already used")
        log.info("device %s logged in as user %s", active.id, user.id)
        return issued, active

    async def _lifetime(self, device: Device, lifetime: int, now: float) -> int:
        """A device approved by another device's token never outlives that device's token."""
        if device.approved_via is not ApprovalVia.DEVICE:
            return lifetime
        approving = None
        if device.approved_by_device_id is not None:
            approving = await self._devices.get(device.approved_by_device_id)
        try:
            capped = capped_lifetime(lifetime, approving, now)
        except DomainError as exc:
            raise PollRefused(PollError.ACCESS_DENIED, exc.message) from None
        if capped <= 0:
            raise PollRefused(PollError.ACCESS_DENIED, "the approving device's token expired")
        return capped

    # -- device tokens -----------------------------------------------------------------------

    async def verify_token(self, claims: dict[str, Any]) -> Principal:
        """The principal of a device token while its device is active, unexpired and the
        user's; from the per-process cache, so no database round trip when nothing changed."""
        device_id = claims.get("device_id")
        if not isinstance(device_id, str):
            raise InvalidCredentials("invalid credentials")
        device = await self._revocations.cache.get(
            f"device:{device_id}", lambda: self._devices.get(device_id)
        )
        now = self._clock.now()
        if (
            device is not None
            and device.status is DeviceStatus.LOCKED
            and device.user_id == claims["sub"]
            and device.expires > now
        ):
            raise CredentialLocked(_TOKEN_LOCKED_MESSAGES[device.locked_by or LockedBy.OWNER])
        if (
            device is None
            or device.status is not DeviceStatus.ACTIVE
            or device.expires <= now
            or device.user_id != claims["sub"]
        ):
            raise InvalidCredentials("invalid credentials")
        user = await self._auth.active_user(claims["sub"], claims.get("gen"))
        self._last_used.mark(TOKEN_KIND, device_id, now)
        return principal_for(
            user, PrincipalKind.DEVICE, device_id=device_id, expires=float(claims["exp"])
        )

    def reissue(self, principal: Principal, user: User) -> IssuedToken:
        """A new token for the device ``principal`` uses, under the user's current credentials
        generation (after they changed their password through it); same device, same expiry."""
        assert principal.device_id is not None and principal.expires is not None
        lifetime = max(1, int(principal.expires) - int(self._clock.now()))
        return self._tokens.issue(
            TOKEN_KIND,
            user.id,
            lifetime,
            device_id=principal.device_id,
            gen=user.credentials_generation,
        )

    async def revoke(self, token: str) -> bool:
        """RFC 7009: revoke a device token by deleting its device; False when there was
        nothing to revoke (unknown, expired or not a device token)."""
        try:
            claims = self._auth.token_claims(token)
        except InvalidCredentials:
            return False
        device_id = claims.get("device_id")
        if claims.get("kind") != TOKEN_KIND or not isinstance(device_id, str):
            return False
        device = await self._devices.get(device_id)
        if device is None or device.user_id != claims["sub"]:
            return False
        also_locked = await self._devices.delete(
            device_id,
            self._clock.now(),
            audit=self._audit.event(
                "device.revoked", target=("device", device_id, device.hostname)
            ),
        )
        if also_locked is None:
            return False
        await self._revocations.announce(
            f"device:{device_id}", *(f"device:{d.id}" for d in also_locked)
        )
        log.info("device %s revoked by its token", device_id)
        return True


def _client_id(raw: str) -> str:
    """A client_id as stored: any RFC 6749 §A.1 VSCHAR string (``%x20-7E``) of 1 to
    ``MAX_CLIENT_ID_LENGTH`` characters; a UUID (what ZenML clients send) in canonical form.
    Raises InvalidInput otherwise."""
    if not 0 < len(raw) <= MAX_CLIENT_ID_LENGTH or not all(" " <= ch <= "~" for ch in raw):
        raise InvalidInput(
            f"client_id must be 1 to {MAX_CLIENT_ID_LENGTH} printable ASCII characters"
        )
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        return raw


def _spent(device: Device) -> bool:
    """True once the device code was exchanged for a token."""
    return device.status is DeviceStatus.ACTIVE or (
        device.approved and device.last_login is not None
    )
