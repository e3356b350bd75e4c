"""ServiceAccountStore's contract, on real SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from zenml_server.domain.errors import AlreadyExists
from zenml_server.domain.secrets import digest, new_api_key
from zenml_server.storage.store import Store

NOW = 1_800_000_000.0


async def _changes(store: Store) -> list[str]:
    return [entity for _, entity in await store.changes.since(0)]


async def test_account_names_are_unique(store: Store) -> None:
    """A second account with a taken name raises AlreadyExists; so does a rename onto it."""
    sa = store.service_accounts
    await sa.create_account("a", "", active=True, now=NOW)
    other = await sa.create_account("b", "", active=True, now=NOW)
    with pytest.raises(AlreadyExists):
        await sa.create_account("a", "", active=True, now=NOW)
    with pytest.raises(AlreadyExists):
        await sa.update_account(other.id, now=NOW, name="a")


async def test_list_accounts_filters_and_counts(store: Store) -> None:
    """list_accounts pages by name and counts every match of the filters."""
    sa = store.service_accounts
    for name, active in (("c", True), ("a", False), ("b", True)):
        await sa.create_account(name, "", active=active, now=NOW)
    items, total = await sa.list_accounts(name=None, active=None, offset=1, limit=1)
    assert [a.name for a in items] == ["b"] and total == 3
    items, total = await sa.list_accounts(name=None, active=True, offset=0, limit=10)
    assert [a.name for a in items] == ["b", "c"] and total == 2
    items, total = await sa.list_accounts(name="a", active=False, offset=0, limit=10)
    assert [a.name for a in items] == ["a"] and total == 1
    assert (await sa.list_accounts(name="a", active=True, offset=0, limit=10))[1] == 0


async def test_update_account_logs_change(store: Store) -> None:
    """update_account changes only given fields and logs the account; unknown id is None."""
    sa = store.service_accounts
    account = await sa.create_account("a", "desc", active=True, now=NOW)
    updated = await sa.update_account(account.id, now=NOW + 5, active=False)
    assert updated is not None
    assert (updated.name, updated.description, updated.active) == ("a", "desc", False)
    assert updated.updated == NOW + 5
    assert await _changes(store) == [f"service_account:{account.id}"]
    assert await sa.update_account("missing", now=NOW, active=False) is None


async def test_key_digest_lookup_and_rotation(store: Store) -> None:
    """A rotation with retain keeps the previous digest as generation g-1 until expiry;
    a rotation without retain forgets it at once."""
    sa = store.service_accounts
    account = await sa.create_account("a", "", active=True, now=NOW)
    first, second, third = new_api_key(), new_api_key(), new_api_key()
    key = await sa.create_key(account.id, "k", "", key_digest=digest(first), now=NOW)
    assert key.generation == 0 and key.service_account_name == "a"
    match = await sa.find_by_digest(digest(first))
    assert match is not None and (match.key_id, match.generation) == (key.id, 0)
    rotated = await sa.rotate_key(
        key.id, new_digest=digest(second), retain_minutes=10, now=NOW + 60
    )
    assert rotated is not None
    assert rotated.generation == 1 and rotated.previous_expires == NOW + 60 + 600
    assert rotated.last_rotated == NOW + 60 and rotated.retain_period_minutes == 10
    old = await sa.find_by_digest(digest(first))
    new = await sa.find_by_digest(digest(second))
    assert old is not None and old.generation == 0
    assert new is not None and new.generation == 1
    assert await sa.forget_expired_digests(NOW + 60 + 599) == 0
    assert await sa.forget_expired_digests(NOW + 60 + 600) == 1
    assert await sa.find_by_digest(digest(first)) is None
    again = await sa.rotate_key(key.id, new_digest=digest(third), retain_minutes=0, now=NOW)
    assert again is not None and again.previous_expires is None and again.generation == 2
    assert await sa.find_by_digest(digest(second)) is None
    assert await sa.rotate_key("missing", new_digest="x", retain_minutes=0, now=NOW) is None
    assert await _changes(store) == [f"api_key:{key.id}"] * 2


async def test_key_names_unique_per_account(store: Store) -> None:
    """Two keys of one account cannot share a name (create or rename)."""
    sa = store.service_accounts
    account = await sa.create_account("a", "", active=True, now=NOW)
    await sa.create_key(account.id, "k", "", key_digest=digest(new_api_key()), now=NOW)
    other = await sa.create_key(account.id, "j", "", key_digest=digest(new_api_key()), now=NOW)
    with pytest.raises(AlreadyExists):
        await sa.create_key(account.id, "k", "", key_digest=digest(new_api_key()), now=NOW)
    with pytest.raises(AlreadyExists):
        await sa.update_key(other.id, now=NOW, name="k")


async def test_delete_account_removes_keys_and_logs_them(store: Store) -> None:
    """delete_account deletes its keys, returns their ids and logs account and keys."""
    sa = store.service_accounts
    account = await sa.create_account("a", "", active=True, now=NOW)
    key = await sa.create_key(account.id, "k", "", key_digest=digest(new_api_key()), now=NOW)
    assert await sa.delete_account(account.id, now=NOW) == [key.id]
    assert await sa.get_key(key.id) is None and await sa.get_account(account.id) is None
    assert sorted(await _changes(store)) == [f"api_key:{key.id}", f"service_account:{account.id}"]
    assert await sa.delete_account(account.id, now=NOW) is None


async def test_delete_key_and_touch_many(store: Store) -> None:
    """touch_many only moves last_login forward and skips deleted keys; delete_key logs."""
    sa = store.service_accounts
    account = await sa.create_account("a", "", active=True, now=NOW)
    key = await sa.create_key(account.id, "k", "", key_digest=digest(new_api_key()), now=NOW)
    await sa.touch_many({key.id: NOW + 10, "gone": NOW})
    await sa.touch_many({key.id: NOW + 5})
    found = await sa.get_key(key.id)
    assert found is not None and found.last_login == NOW + 10
    assert await sa.delete_key(key.id, now=NOW) is True
    assert await sa.delete_key(key.id, now=NOW) is False
    assert await _changes(store) == [f"api_key:{key.id}"]
