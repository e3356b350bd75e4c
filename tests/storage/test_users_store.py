"""The user, session and server-settings stores: one contract, both engines."""

from __future__ import annotations

import asyncio

import pytest

from zenml_server.domain.errors import AlreadyExists, NotPermitted
from zenml_server.domain.models import ApprovalVia
from zenml_server.storage.devices import DeviceMetadata
from zenml_server.storage.store import Store


async def test_create_and_get_user(store: Store) -> None:
    """A created user is found by id and by name, with its flags."""
    user = await store.users.create("ann", "hash", is_admin=True, active=True, now=10.0)
    assert (await store.users.get(user.id)) == user
    assert (await store.users.get_by_name("ann")) == user
    assert user.is_admin is True and user.active is True and user.created == 10.0


async def test_unknown_user_is_none(store: Store) -> None:
    """Unknown ids and names give None."""
    assert await store.users.get("nope") is None
    assert await store.users.get_by_name("nope") is None


async def test_user_names_are_unique(store: Store) -> None:
    """A second user with a taken name raises AlreadyExists and changes nothing."""
    await store.users.create("ann", None, is_admin=False, active=True, now=1.0)
    with pytest.raises(AlreadyExists):
        await store.users.create("ann", None, is_admin=True, active=True, now=2.0)
    assert await store.users.count() == 1


async def test_sql_metacharacters_in_names_are_data(store: Store) -> None:
    """Quotes and SQL in a name are stored and found as plain text."""
    name = "x'); DROP TABLE users; --"
    await store.users.create(name, None, is_admin=False, active=True, now=1.0)
    found = await store.users.get_by_name(name)
    assert found is not None and found.name == name
    assert await store.users.count() == 1


async def test_first_admin_only_on_empty_database(store: Store) -> None:
    """create_first_admin creates once; concurrent callers create exactly one admin."""
    results = await asyncio.gather(
        *(store.users.create_first_admin("admin", "h", now=1.0) for _ in range(5))
    )
    assert sum(r is not None for r in results) == 1
    assert await store.users.create_first_admin("admin2", "h", now=2.0) is None


async def test_password_change_moves_generation_and_ends_sessions(store: Store) -> None:
    """A new password bumps the credentials generation and deletes the user's sessions."""
    user = await store.users.create("ann", "h1", is_admin=False, active=True, now=1.0)
    await store.sessions.create("digest-1", user.id, now=1.0, expires=100.0)
    updated = await store.users.update(user.id, now=2.0, password_hash="h2")
    assert updated is not None and updated.credentials_generation == 1
    assert updated.password_hash == "h2"
    assert await store.sessions.get("digest-1", 2.0) is None
    assert await store.changes.since(0) != []


async def test_flag_change_keeps_generation(store: Store) -> None:
    """Making a user admin does not end their credentials."""
    user = await store.users.create("ann", "h1", is_admin=False, active=True, now=1.0)
    updated = await store.users.update(user.id, now=2.0, is_admin=True)
    assert updated is not None and updated.is_admin and updated.credentials_generation == 0


async def test_update_of_unknown_user_is_none(store: Store) -> None:
    """Updating a user that does not exist gives None."""
    assert await store.users.update("nope", now=1.0, active=False) is None


async def test_sessions_expire(store: Store) -> None:
    """A session is found until it expires, then not; prune deletes it."""
    user = await store.users.create("ann", None, is_admin=False, active=True, now=1.0)
    await store.sessions.create("d", user.id, now=1.0, expires=10.0)
    assert (await store.sessions.get("d", 9.0)) is not None
    assert await store.sessions.get("d", 10.0) is None
    assert await store.sessions.prune(10.0) == 1


async def test_server_setting_first_writer_wins(store: Store) -> None:
    """get_or_set keeps the first value, also when several race."""
    values = await asyncio.gather(
        *(store.server_settings.get_or_set("k", f"v{i}") for i in range(5))
    )
    assert len(set(values)) == 1
    assert await store.server_settings.get("k") == values[0]
    assert await store.server_settings.get("missing") is None


async def test_change_log_orders_and_prunes(store: Store) -> None:
    """Changes come back oldest first after a cursor; prune drops old ones."""
    async with store.db.transaction() as conn:
        await store.changes.record(conn, "device:a", 1.0)
        await store.changes.record(conn, "device:b", 5.0)
    latest = await store.changes.latest()
    changes = await store.changes.since(0)
    assert [entity for _, entity in changes] == ["device:a", "device:b"]
    assert changes[-1][0] == latest
    assert await store.changes.since(latest) == []
    assert await store.changes.prune(2.0) == 1


async def test_failed_transaction_changes_nothing(store: Store) -> None:
    """An error inside a transaction rolls back every statement in it."""
    with pytest.raises(RuntimeError):
        async with store.db.transaction() as conn:
            await conn.execute("INSERT INTO server_settings (key, value) VALUES ($1, $2)", "a", "b")
            raise RuntimeError("boom")
    assert await store.server_settings.get("a") is None


async def test_reads_see_committed_writes_under_concurrency(store: Store) -> None:
    """A write that has returned is seen by the next read, however reads and writes interleave
    (no read may run on a snapshot held open by another coroutine's cursor)."""

    async def write_then_read(i: int) -> None:
        await store.server_settings.get_or_set(f"key-{i}", f"value-{i}")
        assert await store.server_settings.get(f"key-{i}") == f"value-{i}"
        await store.db.fetch("SELECT key, value FROM server_settings")

    await asyncio.gather(*(write_then_read(i) for i in range(200)))


async def test_last_active_admin_cannot_go(store: Store) -> None:
    """Demoting, deactivating or deleting the last active admin raises NotPermitted and
    changes nothing; an inactive admin does not count as another."""
    ann = await store.users.create("ann", "h", is_admin=True, active=True, now=1.0)
    await store.users.create("old", "h", is_admin=True, active=False, now=1.0)
    for change in ({"is_admin": False}, {"active": False}):
        with pytest.raises(NotPermitted):
            await store.users.update(ann.id, now=2.0, **change)  # type: ignore[arg-type]
    with pytest.raises(NotPermitted):
        await store.users.delete(ann.id, now=2.0)
    assert await store.users.get(ann.id) == ann


async def test_two_admins_demoting_each_other_at_once_keep_one(store: Store) -> None:
    """Two concurrent demotions of the only two admins: exactly one succeeds."""
    ann = await store.users.create("ann", "h", is_admin=True, active=True, now=1.0)
    bob = await store.users.create("bob", "h", is_admin=True, active=True, now=1.0)
    results = await asyncio.gather(
        store.users.update(ann.id, now=2.0, is_admin=False),
        store.users.update(bob.id, now=2.0, is_admin=False),
        return_exceptions=True,
    )
    assert sum(isinstance(r, NotPermitted) for r in results) == 1
    admins = [u for u in await store.users.list() if u.is_admin and u.active]
    assert len(admins) == 1


async def test_change_password_keeps_only_the_asking_session(store: Store) -> None:
    """change_password moves the generation on and drops every session but the one kept."""
    ann = await store.users.create("ann", "h", is_admin=False, active=True, now=1.0)
    for name in ("keep", "drop"):
        await store.sessions.create(name, ann.id, now=1.0, expires=100.0)
    changed = await store.users.change_password(ann.id, "h2", now=2.0, keep_session="keep")
    assert changed is not None and changed.password_hash == "h2"
    assert changed.credentials_generation == ann.credentials_generation + 1
    assert await store.sessions.get("keep", 3.0) is not None
    assert await store.sessions.get("drop", 3.0) is None


async def test_delete_user_takes_devices_and_sessions(store: Store) -> None:
    """delete() removes the user, their devices and sessions, and returns the device ids."""
    ann = await store.users.create("ann", "h", is_admin=False, active=True, now=1.0)
    await store.sessions.create("s", ann.id, now=1.0, expires=100.0)
    device = await store.devices.create_authorization(
        client_id="c",
        device_code_digest="d1",
        user_code_digest="u1",
        expires=50.0,
        interval=5,
        metadata=DeviceMetadata(),
        now=1.0,
    )
    await store.devices.decide(
        device.id, user_id=ann.id, approve=True, trusted=False, now=2.0, via=ApprovalVia.SESSION
    )
    assert await store.users.delete(ann.id, now=3.0) == [device.id]
    assert await store.users.get(ann.id) is None
    assert await store.devices.get(device.id) is None
    assert await store.sessions.get("s", 3.0) is None
    assert await store.users.delete(ann.id, now=3.0) is None
