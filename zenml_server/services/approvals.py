"""Approving or denying a device login (RFC 8628 §3.3): the user's side of the grant.

- ``preview``: the authorization waiting for a typed code, with the facts that expose a
  phishing attempt (``approval_rules.ApprovalFacts``).
- ``decide``: approve (optionally as trusted) or deny, within ``approval_rules`` (who may
  approve what); the same decision made again answers the device as it stands.

Code entry is rate limited per user and per address; wrong codes typed against a device
(``device_id`` from ``verification_uri_complete``) count toward its lock.
"""

from __future__ import annotations

import enum
import logging

from zenml_server.domain.errors import DomainError
from zenml_server.domain.models import ApprovalVia, Device, DeviceStatus, LockedBy
from zenml_server.domain.secrets import digest, normalize_user_code, same_text
from zenml_server.services.approval_rules import (
    ApprovalFacts,
    check_approving_device,
    is_retry,
)
from zenml_server.services.wiring import Wiring
from zenml_server.storage.devices import DeviceStore

log = logging.getLogger(__name__)


class CodeProblem(enum.StrEnum):
    """Why a user code typed by a person cannot be approved."""

    WRONG = "wrong"
    EXPIRED = "expired"
    USED = "used"
    LOCKED = "locked"


class CodeRefused(DomainError):
    """A user code that does not lead to an approvable authorization; for a locked one,
    ``locked_by`` says who locked it."""

    def __init__(
        self, problem: CodeProblem, message: str, locked_by: LockedBy | None = None
    ) -> None:
        super().__init__(message)
        self.problem = problem
        self.locked_by = locked_by


_CODE_MESSAGES = {
    CodeProblem.WRONG: "no device login is waiting for this code",
    CodeProblem.EXPIRED: "this code has expired",
    CodeProblem.USED: "this code was already used",
    CodeProblem.LOCKED: "this device login is locked after too many wrong codes",
}
_LOCKED_MESSAGES = {
    LockedBy.WRONG_CODES: _CODE_MESSAGES[CodeProblem.LOCKED],
    LockedBy.OWNER: "this device login is locked by its owner",
    LockedBy.ADMIN: "this device login is locked by an administrator",
}


def _refused(problem: CodeProblem, locked_by: LockedBy | None = None) -> CodeRefused:
    if problem is CodeProblem.LOCKED:
        locked_by = locked_by or LockedBy.WRONG_CODES
        return CodeRefused(problem, _LOCKED_MESSAGES[locked_by], locked_by)
    return CodeRefused(problem, _CODE_MESSAGES[problem])


class Approvals:
    def __init__(self, wiring: Wiring) -> None:
        self._devices: DeviceStore = wiring.store.devices
        self._revocations = wiring.revocations
        self._audit = wiring.audit
        self._events = wiring.events
        self._clock = wiring.clock
        self._settings = wiring.settings
        limits = wiring.rate_limits
        self._code_per_user = limits.new(
            "user_code_per_user", burst=10, per_minute=10, what="code attempts"
        )
        self._code_per_ip = limits.new(
            "user_code_per_address", burst=20, per_minute=20, what="code attempts"
        )

    async def preview(
        self, user_id: str, user_code: str, *, device_id: str | None, ip: str, user_name: str
    ) -> ApprovalFacts:
        """The authorization waiting for this code, and the facts to show before approving.

        Rate limited per user and per address; a wrong code for ``device_id`` counts toward
        its lock. Raises CodeRefused (wrong, expired, used, locked) or RateLimited.
        """
        device = await self._find(user_id, user_code, device_id=device_id, ip=ip)
        _check_approvable(device, self._clock.now())
        seen = await self._devices.client_logged_in_before(user_id, device.client_id, device.id)
        return ApprovalFacts(device, user_name, device.ip_address, ip, seen)

    async def decide(
        self,
        user_id: str,
        user_code: str,
        *,
        device_id: str | None,
        ip: str,
        approve: bool,
        trusted: bool = False,
        via: ApprovalVia,
        by_device_id: str | None = None,
    ) -> Device:
        """Approve (optionally as trusted) or deny the authorization waiting for this code.

        ``via`` says how the approver is logged in; a device token (``by_device_id``) may
        approve only within ``services/approval_rules.py`` (NotPermitted otherwise). The
        same decision made again by the same user answers the device as it stands.
        """
        device = await self._find(user_id, user_code, device_id=device_id, ip=ip)
        now = self._clock.now()
        if is_retry(device, user_id, approve=approve, trusted=trusted):
            return device
        _check_approvable(device, now)
        if approve and via is ApprovalVia.DEVICE:
            approving = None if by_device_id is None else await self._devices.get(by_device_id)
            check_approving_device(approving, user_id=user_id, trusted=trusted, now=now)
        decided = await self._devices.decide(
            device.id,
            user_id=user_id,
            approve=approve,
            trusted=trusted,
            now=now,
            via=via,
            by_device_id=by_device_id if via is ApprovalVia.DEVICE else None,
            audit=self._audit.event(
                "device.approved" if approve else "device.denied",
                target=("device", device.id, device.hostname),
                trusted=approve and trusted,
            ),
        )
        if decided is None:
            # Changed since we looked (approved elsewhere, locked, expired): say how.
            current = await self._devices.get(device.id)
            if current is None:
                raise _refused(CodeProblem.WRONG)
            if is_retry(current, user_id, approve=approve, trusted=trusted):
                return current
            _check_approvable(current, now)
            raise _refused(CodeProblem.USED)
        if not approve:
            await self._revocations.announce(f"device:{device.id}")
        self._events.inc("device_flow", "approved" if approve else "denied")
        log.info(
            "device %s %s by user %s%s",
            device.id,
            "approved" if approve else "denied",
            user_id,
            " as trusted" if approve and trusted else "",
        )
        return decided

    async def _find(self, user_id: str, typed: str, *, device_id: str | None, ip: str) -> Device:
        self._code_per_ip.hit(ip)
        self._code_per_user.hit(user_id)
        code = normalize_user_code(typed)
        found = None if code is None else await self._devices.get_by_user_code(digest(code))
        if found is None and code is not None:
            # Deleted by housekeeping after it expired: say so, and count no failure.
            if await self._devices.code_expired(digest(code), self._clock.now()):
                raise _refused(CodeProblem.EXPIRED)
        if device_id is not None and (found is None or not same_text(found.id, device_id)):
            if await self._count_failure(device_id=device_id):
                raise _refused(CodeProblem.LOCKED)
            raise _refused(CodeProblem.WRONG)
        if found is None:
            raise _refused(CodeProblem.WRONG)
        return found

    async def _count_failure(self, *, device_id: str) -> bool:
        """Count a wrong user code typed against ``device_id``; True when that locked it."""
        changed = await self._devices.count_failed_attempt(
            max_attempts=self._settings.max_failed_device_auth_attempts,
            now=self._clock.now(),
            device_id=device_id,
            audit=lambda d: self._audit.event(
                "device.locked", target=("device", d.id, d.hostname), reason="wrong_codes"
            ),
        )
        locked = [f"device:{d.id}" for d in changed if d.status is DeviceStatus.LOCKED]
        if locked:
            await self._revocations.announce(*locked)
            log.warning("locked %s after too many wrong codes", ", ".join(locked))
        return bool(locked)


def _check_approvable(device: Device, now: float) -> None:
    """Raise CodeRefused unless a user can still approve or deny this authorization."""
    if device.status is DeviceStatus.LOCKED:
        raise _refused(CodeProblem.LOCKED, device.locked_by)
    if device.status is DeviceStatus.PENDING and device.expires > now:
        return
    if device.status in (DeviceStatus.PENDING, DeviceStatus.EXPIRED) or (
        device.status is DeviceStatus.DENIED and device.expires <= now
    ):
        raise _refused(CodeProblem.EXPIRED)
    raise _refused(CodeProblem.USED)
