"""DeviceStore's contract, on real SQLite and real PostgreSQL."""

from __future__ import annotations

import asyncio

from zenml_server.domain.models import ApprovalVia, Device, DeviceStatus, LockedBy, User
from zenml_server.domain.secrets import digest, new_token, new_user_code
from zenml_server.storage.devices import DeviceMetadata
from zenml_server.storage.store import Store

NOW = 1_800_000_000.0
CLIENT = "0b6b7d1e-2f4a-4c1e-9a57-5d0c1f6f9a10"


async def make_user(store: Store, name: str = "alice") -> User:
    return await store.users.create(name, None, is_admin=False, active=True, now=NOW)


async def make_device(
    store: Store, *, client_id: str = CLIENT, now: float = NOW, lifetime: float = 300
) -> Device:
    """A pending authorization with fresh codes."""
    return await store.devices.create_authorization(
        client_id=client_id,
        device_code_digest=digest(new_token()),
        user_code_digest=digest(new_user_code()),
        expires=now + lifetime,
        interval=5,
        metadata=DeviceMetadata(hostname="h", os="Linux", ip_address="10.0.0.1"),
        now=now,
    )


async def make_active(
    store: Store, user: User, *, trusted: bool = False, now: float = NOW
) -> Device:
    """An approved authorization whose token was collected."""
    device = await make_device(store, now=now)
    await store.devices.decide(device.id, user_id=user.id, approve=True, trusted=trusted, now=now)
    async with store.db.transaction() as conn:
        active = await store.devices.activate(conn, device.id, token_expires=now + 86400, now=now)
    assert active is not None
    return active


async def changes(store: Store) -> list[str]:
    return [entity for _, entity in await store.changes.since(0)]


async def test_create_and_find_by_code_digests(store: Store) -> None:
    """A new authorization is pending, found by either code's digest, and by id."""
    device_code, user_code = new_token(), new_user_code()
    device = await store.devices.create_authorization(
        client_id=CLIENT,
        device_code_digest=digest(device_code),
        user_code_digest=digest(user_code),
        expires=NOW + 300,
        interval=5,
        metadata=DeviceMetadata(
            hostname="h",
            os="Linux",
            python_version="3.11",
            client_version="0.98.0",
            ip_address="10.0.0.1",
        ),
        now=NOW,
    )
    assert device.status is DeviceStatus.PENDING and not device.approved
    assert (device.hostname, device.os, device.python_version, device.client_version) == (
        "h",
        "Linux",
        "3.11",
        "0.98.0",
    )
    assert device.user_id is None and device.user_name is None and device.last_poll is None
    assert await store.devices.get_by_device_code(digest(device_code)) == device
    assert await store.devices.get_by_user_code(digest(user_code)) == device
    assert await store.devices.get(device.id) == device
    assert await store.devices.get_by_user_code(digest("BCDFGHJK")) is None
    assert await store.devices.get("nope") is None


async def test_codes_are_stored_only_as_digests(store: Store) -> None:
    """Neither code is in the table in clear."""
    device_code, user_code = new_token(), new_user_code()
    await store.devices.create_authorization(
        client_id=CLIENT,
        device_code_digest=digest(device_code),
        user_code_digest=digest(user_code),
        expires=NOW + 300,
        interval=5,
        metadata=DeviceMetadata(),
        now=NOW,
    )
    rows = await store.db.fetch("SELECT * FROM devices")
    text = repr([dict(r) for r in rows])
    assert device_code not in text and user_code not in text


async def test_taken_user_code_raises_unique_violation(store: Store) -> None:
    """Two authorizations cannot share a user code digest."""
    from zenml_server.storage.db import UniqueViolation

    taken = digest("BCDFGHJK")
    await store.devices.create_authorization(
        client_id=CLIENT,
        device_code_digest=digest(new_token()),
        user_code_digest=taken,
        expires=NOW + 300,
        interval=5,
        metadata=DeviceMetadata(),
        now=NOW,
    )
    try:
        await store.devices.create_authorization(
            client_id=CLIENT,
            device_code_digest=digest(new_token()),
            user_code_digest=taken,
            expires=NOW + 300,
            interval=5,
            metadata=DeviceMetadata(),
            now=NOW,
        )
    except UniqueViolation:
        pass
    else:
        raise AssertionError("a taken user code was accepted")


async def test_get_fills_in_owner_name(store: Store) -> None:
    """get() and list() carry the owner's name; decide() returns it too."""
    user = await make_user(store)
    device = await make_device(store)
    decided = await store.devices.decide(
        device.id, user_id=user.id, approve=True, trusted=True, now=NOW
    )
    assert decided is not None and decided.user_name == "alice"
    assert decided.status is DeviceStatus.VERIFIED and decided.approved and decided.trusted_device
    assert (await store.devices.get(device.id)).user_name == "alice"  # type: ignore[union-attr]


async def test_decide_only_pending_unexpired(store: Store) -> None:
    """decide() changes only a pending authorization whose codes still work."""
    user = await make_user(store)
    expired = await make_device(store, lifetime=10)
    assert (
        await store.devices.decide(
            expired.id, user_id=user.id, approve=True, trusted=False, now=NOW + 10
        )
        is None
    )
    device = await make_device(store)
    denied = await store.devices.decide(
        device.id, user_id=user.id, approve=False, trusted=True, now=NOW
    )
    assert denied is not None and denied.status is DeviceStatus.DENIED
    assert not denied.approved and not denied.trusted_device
    assert (
        await store.devices.decide(device.id, user_id=user.id, approve=True, trusted=False, now=NOW)
        is None
    )
    assert f"device:{device.id}" in await changes(store)


async def test_activate_exactly_once_under_concurrency(store: Store) -> None:
    """Of many concurrent activations of one approved authorization, exactly one wins."""
    user = await make_user(store)
    device = await make_device(store)
    await store.devices.decide(device.id, user_id=user.id, approve=True, trusted=False, now=NOW)

    async def attempt() -> Device | None:
        async with store.db.transaction() as conn:
            return await store.devices.activate(conn, device.id, token_expires=NOW + 60, now=NOW)

    results = await asyncio.gather(*(attempt() for _ in range(10)))
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert winners[0].status is DeviceStatus.ACTIVE and winners[0].expires == NOW + 60
    assert winners[0].last_login == NOW


async def test_activate_refuses_pending_and_expired(store: Store) -> None:
    """activate() needs a verified authorization with unexpired codes."""
    user = await make_user(store)
    device = await make_device(store)
    async with store.db.transaction() as conn:
        assert await store.devices.activate(conn, device.id, token_expires=1.0, now=NOW) is None
    await store.devices.decide(device.id, user_id=user.id, approve=True, trusted=False, now=NOW)
    async with store.db.transaction() as conn:
        later = NOW + 300
        assert await store.devices.activate(conn, device.id, token_expires=1.0, now=later) is None


async def test_record_poll_is_compare_and_set(store: Store) -> None:
    """record_poll() writes only when last_poll is still what the caller saw."""
    device = await make_device(store)
    assert await store.devices.record_poll(device.id, seen_last_poll=None, interval=5, now=NOW)
    assert not await store.devices.record_poll(device.id, seen_last_poll=None, interval=9, now=NOW)
    assert await store.devices.record_poll(device.id, seen_last_poll=NOW, interval=10, now=NOW + 1)
    again = await store.devices.get(device.id)
    assert again is not None and again.last_poll == NOW + 1 and again.interval == 10


async def test_failed_attempts_lock_at_maximum(store: Store) -> None:
    """Wrong codes count per device; reaching the maximum locks it and logs the change."""
    device = await make_device(store)
    for expected in (1, 2):
        (changed,) = await store.devices.count_failed_attempt(
            max_attempts=3, now=NOW, device_id=device.id
        )
        assert changed.failed_auth_attempts == expected
        assert changed.status is DeviceStatus.PENDING
    (changed,) = await store.devices.count_failed_attempt(
        max_attempts=3, now=NOW, device_id=device.id
    )
    assert changed.status is DeviceStatus.LOCKED
    assert f"device:{device.id}" in await changes(store)
    # once locked, nothing more is counted
    assert (
        await store.devices.count_failed_attempt(max_attempts=3, now=NOW, device_id=device.id) == []
    )


async def test_failed_attempts_by_client_spare_active_devices(store: Store) -> None:
    """A wrong device code for a client counts against its pending authorizations only."""
    user = await make_user(store)
    active = await make_active(store, user)
    pending = await make_device(store)
    changed = await store.devices.count_failed_attempt(max_attempts=3, now=NOW, client_id=CLIENT)
    assert [d.id for d in changed] == [pending.id]
    assert (await store.devices.get(active.id)).failed_auth_attempts == 0  # type: ignore[union-attr]


async def test_list_filters_and_pages_newest_first(store: Store) -> None:
    """list() filters by owner, status and trust, pages newest first, and counts the total."""
    alice, bob = await make_user(store, "alice"), await make_user(store, "bob")
    a1 = await make_active(store, alice, now=NOW + 1)
    a2 = await make_active(store, alice, trusted=True, now=NOW + 2)
    b1 = await make_active(store, bob, now=NOW + 3)
    p = await make_device(store, now=NOW + 4)
    items, total = await store.devices.list()
    assert [d.id for d in items] == [p.id, b1.id, a2.id, a1.id] and total == 4
    items, total = await store.devices.list(user_id=alice.id)
    assert [d.id for d in items] == [a2.id, a1.id] and total == 2
    assert all(d.user_name == "alice" for d in items)
    items, total = await store.devices.list(status=DeviceStatus.PENDING)
    assert [d.id for d in items] == [p.id] and total == 1
    items, total = await store.devices.list(trusted=True)
    assert [d.id for d in items] == [a2.id] and total == 1
    items, total = await store.devices.list(trusted=False, status=DeviceStatus.ACTIVE)
    assert [d.id for d in items] == [b1.id, a1.id] and total == 2
    items, total = await store.devices.list(offset=1, limit=2)
    assert [d.id for d in items] == [b1.id, a2.id] and total == 4
    items, total = await store.devices.list(user_id=bob.id, offset=5, limit=2)
    assert items == [] and total == 1


async def test_lock_and_unlock_an_active_device(store: Store) -> None:
    """Lock makes an active device locked; unlock makes it active again; both are logged."""
    user = await make_user(store)
    device = await make_active(store, user)
    changed = await store.devices.set_locked(device.id, True, NOW + 5)
    assert changed is not None
    locked, also_locked = changed
    assert also_locked == [] and locked.status is DeviceStatus.LOCKED and locked.updated == NOW + 5
    assert locked.approved and locked.user_name == "alice"
    changed = await store.devices.set_locked(device.id, False, NOW + 6)
    assert changed is not None and changed[0].status is DeviceStatus.ACTIVE
    assert (await changes(store)).count(f"device:{device.id}") == 2


async def test_unlock_never_makes_an_unapproved_device_usable(store: Store) -> None:
    """Unlock returns a device to the status it had: pending stays pending, denied stays
    denied, approved-but-uncollected is verified again; only a collected one is active."""
    user = await make_user(store)
    pending = await make_device(store)
    denied = await make_device(store)
    await store.devices.decide(denied.id, user_id=user.id, approve=False, trusted=False, now=NOW)
    verified = await make_device(store)
    await store.devices.decide(verified.id, user_id=user.id, approve=True, trusted=False, now=NOW)
    expected = {
        pending.id: DeviceStatus.PENDING,
        denied.id: DeviceStatus.DENIED,
        verified.id: DeviceStatus.VERIFIED,
    }
    for device_id, status in expected.items():
        await store.devices.set_locked(device_id, True, NOW)
        changed = await store.devices.set_locked(device_id, False, NOW)
        assert changed is not None and changed[0].status is status, device_id
    # a device locked by wrong codes before approval comes back pending, not active
    for _ in range(3):
        await store.devices.count_failed_attempt(max_attempts=3, now=NOW, device_id=pending.id)
    changed = await store.devices.set_locked(pending.id, False, NOW)
    assert changed is not None and changed[0].status is DeviceStatus.PENDING
    assert not changed[0].approved


async def test_unlock_of_unlocked_device_changes_nothing(store: Store) -> None:
    """Unlocking a device that is not locked leaves its status alone."""
    user = await make_user(store)
    device = await make_active(store, user)
    again = await store.devices.set_locked(device.id, False, NOW)
    assert again is not None and again[0].status is DeviceStatus.ACTIVE


async def test_set_locked_and_delete_unknown(store: Store) -> None:
    """set_locked() and delete() are None for an unknown id; nothing is logged."""
    assert await store.devices.set_locked("missing", True, NOW) is None
    assert await store.devices.delete("missing", NOW) is None
    assert await changes(store) == []


async def test_delete_removes_and_logs(store: Store) -> None:
    """delete() removes the device and logs the change."""
    user = await make_user(store)
    device = await make_active(store, user)
    assert await store.devices.delete(device.id, NOW) == []
    assert await store.devices.get(device.id) is None
    assert await changes(store) == [f"device:{device.id}"]


async def test_touch_many_writes_last_login(store: Store) -> None:
    """touch_many() stores last_login for each device, never moving it back."""
    user = await make_user(store)
    d1, d2 = await make_active(store, user), await make_active(store, user)
    await store.devices.touch_many({d1.id: NOW + 50, d2.id: NOW + 60, "gone": NOW})
    assert (await store.devices.get(d1.id)).last_login == NOW + 50  # type: ignore[union-attr]
    assert (await store.devices.get(d2.id)).last_login == NOW + 60  # type: ignore[union-attr]
    await store.devices.touch_many({d1.id: NOW + 10})
    assert (await store.devices.get(d1.id)).last_login == NOW + 50  # type: ignore[union-attr]
    await store.devices.touch_many({})


async def test_prune_deletes_only_expired_unapproved(store: Store) -> None:
    """prune removes never-approved authorizations past their expiry, nothing else."""
    user = await make_user(store)
    old_pending = await make_device(store, lifetime=10)
    old_denied = await make_device(store, lifetime=10)
    await store.devices.decide(
        old_denied.id, user_id=user.id, approve=False, trusted=False, now=NOW
    )
    old_verified = await make_device(store, lifetime=10)
    await store.devices.decide(
        old_verified.id, user_id=user.id, approve=True, trusted=False, now=NOW
    )
    fresh = await make_device(store, lifetime=1000)
    active = await make_active(store, user)
    assert await store.devices.prune_expired_authorizations(NOW + 10, remember=60) == 2
    left = {d.id for d in (await store.devices.list())[0]}
    assert left == {old_verified.id, fresh.id, active.id}
    assert old_pending.id not in left


async def _approved_by(store: Store, user: User, parent: Device | None) -> Device:
    """A device approved by ``parent``'s token (first hand when None), token collected."""
    device = await make_device(store)
    await store.devices.decide(
        device.id,
        user_id=user.id,
        approve=True,
        trusted=False,
        now=NOW,
        via=ApprovalVia.PASSWORD if parent is None else ApprovalVia.DEVICE,
        by_device_id=None if parent is None else parent.id,
    )
    async with store.db.transaction() as conn:
        active = await store.devices.activate(conn, device.id, token_expires=NOW + 60, now=NOW)
    assert active is not None
    return active


async def test_lock_cascades_transitively_in_one_change(store: Store) -> None:
    """Locking a device locks everything it approved, and what those approved, in the same
    transaction (each logged); siblings of the root stay as they were."""
    user = await make_user(store)
    root = await _approved_by(store, user, None)
    child = await _approved_by(store, user, root)
    grandchild = await _approved_by(store, user, child)
    sibling = await _approved_by(store, user, None)
    changed = await store.devices.set_locked(root.id, True, NOW + 1, by=LockedBy.ADMIN)
    assert changed is not None
    locked, also_locked = changed
    assert locked.locked_by is LockedBy.ADMIN and locked.locked_because_of is None
    assert {d.id for d in also_locked} == {child.id, grandchild.id}
    for device in also_locked:
        assert device.status is DeviceStatus.LOCKED and device.locked_by is LockedBy.ADMIN
        assert device.locked_because_of == root.id
    assert (await store.devices.get(sibling.id)).status is DeviceStatus.ACTIVE  # type: ignore[union-attr]
    assert set(await changes(store)) >= {f"device:{d}" for d in (root.id, child.id, grandchild.id)}


async def test_admin_cascade_takes_over_an_owner_lock(store: Store) -> None:
    """An admin's lock also takes over a lock the owner set on an approved device, so only an
    admin lifts it; an owner's cascade leaves other locks alone."""
    user = await make_user(store)
    root = await _approved_by(store, user, None)
    child = await _approved_by(store, user, root)
    await store.devices.set_locked(child.id, True, NOW, by=LockedBy.OWNER)
    changed = await store.devices.set_locked(root.id, True, NOW, by=LockedBy.OWNER)
    assert changed is not None and changed[1] == []
    changed = await store.devices.set_locked(root.id, True, NOW, by=LockedBy.ADMIN)
    assert changed is not None and [d.id for d in changed[1]] == [child.id]
    assert changed[1][0].locked_by is LockedBy.ADMIN


async def test_delete_locks_what_it_approved(store: Store) -> None:
    """delete() locks the devices the deleted one approved and returns them."""
    user = await make_user(store)
    root = await _approved_by(store, user, None)
    child = await _approved_by(store, user, root)
    also_locked = await store.devices.delete(root.id, NOW)
    assert also_locked is not None and [d.id for d in also_locked] == [child.id]
    assert also_locked[0].locked_by is LockedBy.OWNER


async def test_client_logged_in_before(store: Store) -> None:
    """A computer (client_id) has logged in before when another of its devices of this user
    collected a token; pending ones and other users' do not count."""
    user = await make_user(store)
    other = await make_user(store, "bob")
    fresh = await make_device(store)
    assert not await store.devices.client_logged_in_before(user.id, CLIENT, fresh.id)
    await make_active(store, other)
    assert not await store.devices.client_logged_in_before(user.id, CLIENT, fresh.id)
    await make_active(store, user)
    assert await store.devices.client_logged_in_before(user.id, CLIENT, fresh.id)
    assert not await store.devices.client_logged_in_before(user.id, "another", fresh.id)
