"""Who may approve a device login, for how long, and what the approver is shown first.

The threat (DESIGN.md, threat model): a stolen device token must not mint a longer-lived or
more trusted device, and a phisher who sends someone a code must not get a blind approval
(RFC 8628 §5.4, the OAuth cross-device security BCP).

- A browser session or a token from a password login may approve any device (first hand).
- A device token may approve only when its own device was approved first hand, is active,
  and belongs to the approver; never a trusted device from an untrusted one; and the new
  device's token never outlives the approving device's (``capped_lifetime``).
- The facts shown before approving (``ApprovalFacts``): who approves, that the device gets
  that user's full access, what the device reports about itself, the address it asked from
  and the address of the approver, and whether this computer logged in to this account before.
"""

from __future__ import annotations

from dataclasses import dataclass

from zenml_server.domain.errors import NotPermitted
from zenml_server.domain.models import ApprovalVia, Device, DeviceStatus, PrincipalKind

_FIRST_HAND = (ApprovalVia.SESSION, ApprovalVia.PASSWORD)


def via_for(kind: PrincipalKind) -> ApprovalVia:
    """How an API caller of this kind approves: a user token comes from a password login."""
    if kind is PrincipalKind.DEVICE:
        return ApprovalVia.DEVICE
    if kind is PrincipalKind.USER:
        return ApprovalVia.PASSWORD
    raise NotPermitted("a service account cannot approve device logins")


def check_approving_device(
    approving: Device | None, *, user_id: str, trusted: bool, now: float
) -> Device:
    """The approving device, when its token may approve a device for ``user_id``.

    Raises NotPermitted when it is gone, not active, someone else's, was itself approved by
    another device (or before approvals were recorded), or is untrusted and ``trusted`` was
    asked for.
    """
    if (
        approving is None
        or approving.status is not DeviceStatus.ACTIVE
        or approving.expires <= now
        or approving.user_id != user_id
    ):
        raise NotPermitted("the device you are logged in with can no longer approve devices")
    if approving.approved_via not in _FIRST_HAND:
        raise NotPermitted(
            "this device was not approved in a browser, so it cannot approve other devices: "
            "approve in the browser instead"
        )
    if trusted and not approving.trusted_device:
        raise NotPermitted(
            "an untrusted device cannot approve a trusted device: approve in the browser, "
            "or without trust"
        )
    return approving


def capped_lifetime(lifetime: int, approving: Device | None, now: float) -> int:
    """The lifetime of a new device token, never past the approving device's token.

    ``approving`` is None for first-hand approvals. Raises NotPermitted when the approving
    device is no longer active (its lock or deletion should have locked this one too).
    """
    if approving is None:
        return lifetime
    if approving.status is not DeviceStatus.ACTIVE or approving.expires <= now:
        raise NotPermitted("the device that approved this login is no longer active")
    return max(0, min(lifetime, int(approving.expires) - int(now)))


def is_retry(device: Device, user_id: str, *, approve: bool, trusted: bool) -> bool:
    """True when this user already made this very decision (an answer lost on the way back):
    the approval is answered with the device as it stands instead of a conflict."""
    if device.user_id != user_id:
        return False
    if approve:
        return (
            device.approved
            and device.trusted_device == trusted
            and device.status in (DeviceStatus.VERIFIED, DeviceStatus.ACTIVE)
        )
    return device.status is DeviceStatus.DENIED


@dataclass(frozen=True)
class ApprovalFacts:
    """What a person is shown before approving: enough to spot a phishing attempt."""

    device: Device
    approver_name: str
    # The address the device asked from, and the address the approver is at now.
    requested_from: str | None
    approver_address: str
    # True when this computer (client_id) already logged in to this account.
    seen_before: bool

    @property
    def addresses_differ(self) -> bool:
        return (self.requested_from or "") != self.approver_address
