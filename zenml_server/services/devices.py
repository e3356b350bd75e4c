"""Authorized devices as their owners see them: list, describe, lock, unlock, delete.

Everyone manages their own devices; an admin may manage anyone's. Someone else's device is
reported as not found, never as forbidden, so its existence does not leak.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from zenml_server.domain.errors import NotFound, NotPermitted
from zenml_server.domain.models import Device, DeviceStatus, LockedBy, Principal, PrincipalKind
from zenml_server.services.wiring import Wiring


@dataclass(frozen=True)
class DevicePage:
    items: list[Device]
    total: int
    page: int
    size: int


@dataclass(frozen=True)
class LockOutcome:
    """A lock, unlock or delete, and the devices it locked because this one approved them."""

    device: Device | None  # None after a delete
    also_locked: Sequence[Device]


class DeviceAdmin:
    def __init__(self, wiring: Wiring) -> None:
        self._store = wiring.store
        self._revocations = wiring.revocations
        self._last_used = wiring.last_used
        self._clock = wiring.clock
        self._audit = wiring.audit

    async def list(
        self,
        caller: Principal,
        *,
        owner: str | None = None,
        everyone: bool = False,
        status: DeviceStatus | None = None,
        trusted: bool | None = None,
        page: int = 1,
        size: int = 50,
        statuses: Sequence[DeviceStatus] = (),
    ) -> DevicePage:
        """The caller's devices; an admin may name another ``owner`` or ask for ``everyone``.

        ``statuses`` (any of) narrows the list like ``status`` (exactly one).
        """
        user_id: str | None = caller.id
        if caller.is_admin and everyone:
            user_id = None
        elif caller.is_admin and owner is not None:
            user = await self._store.users.get_by_name(owner) or await self._store.users.get(owner)
            if user is None:
                raise NotFound("no such user")
            user_id = user.id
        if caller.kind is PrincipalKind.SERVICE_ACCOUNT and user_id is not None:
            return DevicePage([], 0, page, size)
        items, total = await self._store.devices.list(
            user_id=user_id,
            status=status,
            trusted=trusted,
            offset=(page - 1) * size,
            limit=size,
            statuses=statuses,
        )
        return DevicePage([self._fresh(d) for d in items], total, page, size)

    async def get(self, caller: Principal, device_id: str) -> Device:
        """The device, when the caller may see it; NotFound otherwise."""
        device = await self._store.devices.get(device_id)
        if device is None or not self._may_see(caller, device):
            raise NotFound("no such device")
        return self._fresh(device)

    async def set_locked(self, caller: Principal, device_id: str, locked: bool) -> LockOutcome:
        """Lock or unlock; a lock refuses the device's token on the next request everywhere
        and locks every device it approved, transitively.

        The lock records who set it; a lock set by an admin can be lifted only by an admin
        (NotPermitted otherwise). Unlocking resets the wrong-code counter.
        """
        current = await self.get(caller, device_id)
        if not locked and current.locked_by is LockedBy.ADMIN and not caller.is_admin:
            raise NotPermitted(
                "an administrator locked this device; only an administrator can unlock it"
            )
        changed = await self._store.devices.set_locked(
            device_id,
            locked,
            self._clock.now(),
            by=_locker(caller, current),
            audit=self._audit.event(
                "device.locked" if locked else "device.unlocked", target=_target(current)
            ),
        )
        if changed is None:
            raise NotFound("no such device")
        device, also_locked = changed
        await self._announce(device_id, also_locked)
        return LockOutcome(self._fresh(device), [self._fresh(d) for d in also_locked])

    async def delete(self, caller: Principal, device_id: str) -> LockOutcome:
        """Delete the device; its token is refused on the next request everywhere, and every
        device it approved, transitively, is locked in the same transaction."""
        current = await self.get(caller, device_id)
        also_locked = await self._store.devices.delete(
            device_id,
            self._clock.now(),
            by=_locker(caller, current),
            audit=self._audit.event("device.deleted", target=_target(current)),
        )
        if also_locked is None:
            raise NotFound("no such device")
        await self._announce(device_id, also_locked)
        return LockOutcome(None, [self._fresh(d) for d in also_locked])

    async def _announce(self, device_id: str, also_locked: Sequence[Device]) -> None:
        await self._revocations.announce(
            f"device:{device_id}", *(f"device:{d.id}" for d in also_locked)
        )

    @staticmethod
    def _may_see(caller: Principal, device: Device) -> bool:
        return caller.is_admin or (
            caller.kind is not PrincipalKind.SERVICE_ACCOUNT and device.user_id == caller.id
        )

    def _fresh(self, device: Device) -> Device:
        """The device as a reader should see it: a token past its expiry shows ``expired``,
        and ``last_login`` includes uses this process has not written yet."""
        marked = self._last_used.pending("device").get(device.id)
        last_login = device.last_login
        if marked is not None and (last_login is None or last_login < marked):
            last_login = marked
        status = device.status
        if status is DeviceStatus.ACTIVE and device.expires <= self._clock.now():
            status = DeviceStatus.EXPIRED
        if last_login == device.last_login and status is device.status:
            return device
        return replace(device, last_login=last_login, status=status)


def _target(device: Device) -> tuple[str, str, str | None]:
    return ("device", device.id, device.hostname)


def _locker(caller: Principal, device: Device) -> LockedBy:
    """An admin acting on someone else's device, or on an admin's lock, locks as an admin."""
    if caller.is_admin and (device.user_id != caller.id or device.locked_by is LockedBy.ADMIN):
        return LockedBy.ADMIN
    return LockedBy.OWNER
