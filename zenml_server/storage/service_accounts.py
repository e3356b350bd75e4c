"""Service accounts and their API keys.

API keys are stored only as ``digest(key)`` (``key_digest``, unique). A rotation moves the
digest to ``previous_key_digest`` (also unique) with ``previous_expires``, and bumps
``generation``: the key in use is generation ``g``, the previous one ``g - 1``.
Every change that can take a credential back is logged in ``credential_changes`` in the same
transaction, for the other server processes (see ``services/revocation.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from zenml_server.domain.audit import AuditEvent
from zenml_server.domain.errors import AlreadyExists
from zenml_server.domain.models import ApiKey, ServiceAccount
from zenml_server.storage.audit import record_in
from zenml_server.storage.changes import ChangeLog
from zenml_server.storage.db import Database, Row, UniqueViolation

_ACCOUNT_COLUMNS = "id, name, description, active, created, updated, tokens_valid_after"
_KEY_COLUMNS = (
    "k.id, k.service_account_id, sa.name AS service_account_name, k.name, k.description, "
    "k.active, k.created, k.updated, k.last_login, k.last_rotated, k.retain_period_minutes, "
    "k.generation, k.previous_expires, k.tokens_valid_after, k.expires_at"
)
_KEY_FROM = "api_keys k JOIN service_accounts sa ON sa.id = k.service_account_id"
# In an update where $4 is the new ``active`` and $5 is now: a deactivation ends every token
# issued so far, for good.
_ENDS_TOKENS = "CASE WHEN $4 = FALSE THEN $5 ELSE tokens_valid_after END"


def _account(row: Row) -> ServiceAccount:
    return ServiceAccount(
        id=row["id"],
        name=row["name"],
        description=row["description"],
        active=bool(row["active"]),
        created=float(row["created"]),
        updated=float(row["updated"]),
        tokens_valid_after=_opt_float(row["tokens_valid_after"]),
    )


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _key(row: Row) -> ApiKey:
    return ApiKey(
        id=row["id"],
        service_account_id=row["service_account_id"],
        service_account_name=row["service_account_name"],
        name=row["name"],
        description=row["description"],
        active=bool(row["active"]),
        created=float(row["created"]),
        updated=float(row["updated"]),
        last_login=_opt_float(row["last_login"]),
        last_rotated=_opt_float(row["last_rotated"]),
        retain_period_minutes=int(row["retain_period_minutes"]),
        generation=int(row["generation"]),
        previous_expires=_opt_float(row["previous_expires"]),
        tokens_valid_after=_opt_float(row["tokens_valid_after"]),
        expires_at=_opt_float(row["expires_at"]),
    )


@dataclass(frozen=True, slots=True)
class DigestMatch:
    """Which key a digest belongs to, and the generation that digest was issued as."""

    key_id: str
    generation: int


class ServiceAccountStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- accounts -------------------------------------------------------------------------

    async def create_account(
        self,
        name: str,
        description: str,
        *,
        active: bool,
        now: float,
        audit: AuditEvent | None = None,
    ) -> ServiceAccount:
        """Insert an account (and its ``audit`` row); AlreadyExists when the name is taken."""
        account_id = str(uuid.uuid4())
        try:
            async with self._db.transaction() as conn:
                row = await conn.fetchrow(
                    f"INSERT INTO service_accounts "
                    f"(id, name, description, active, created, updated) "
                    f"VALUES ($1, $2, $3, $4, $5, $5) RETURNING {_ACCOUNT_COLUMNS}",
                    account_id,
                    name,
                    description,
                    active,
                    now,
                )
                await record_in(conn, audit, account_id)
        except UniqueViolation:
            raise AlreadyExists(f"a service account named {name!r} already exists") from None
        assert row is not None
        return _account(row)

    async def get_account(self, account_id: str) -> ServiceAccount | None:
        """The account with this id, or None."""
        row = await self._db.fetchrow(
            f"SELECT {_ACCOUNT_COLUMNS} FROM service_accounts WHERE id = $1", account_id
        )
        return None if row is None else _account(row)

    async def get_account_by_name(self, name: str) -> ServiceAccount | None:
        """The account with this exact name, or None."""
        row = await self._db.fetchrow(
            f"SELECT {_ACCOUNT_COLUMNS} FROM service_accounts WHERE name = $1", name
        )
        return None if row is None else _account(row)

    async def list_accounts(
        self, *, name: str | None, active: bool | None, offset: int, limit: int
    ) -> tuple[Sequence[ServiceAccount], int]:
        """One page of accounts by name (filtered when ``name``/``active`` are given), and
        how many match in all."""
        where = (
            "(CAST($1 AS TEXT) IS NULL OR name = $1) "
            "AND (CAST($2 AS BOOLEAN) IS NULL OR active = $2)"
        )
        total = await self._db.fetchval(
            f"SELECT count(*) FROM service_accounts WHERE {where}", name, active
        )
        rows = await self._db.fetch(
            f"SELECT {_ACCOUNT_COLUMNS} FROM service_accounts WHERE {where} "
            f"ORDER BY name LIMIT $3 OFFSET $4",
            name,
            active,
            limit,
            offset,
        )
        return [_account(r) for r in rows], int(total)

    async def update_account(
        self,
        account_id: str,
        *,
        now: float,
        name: str | None = None,
        description: str | None = None,
        active: bool | None = None,
        audit: AuditEvent | None = None,
    ) -> ServiceAccount | None:
        """Change the given fields; None when the account does not exist; AlreadyExists when
        the new name is taken. Logs ``service_account:<id>`` (its keys' principal changes)
        and writes ``audit``."""
        try:
            async with self._db.transaction() as conn:
                row = await conn.fetchrow(
                    f"UPDATE service_accounts SET name = COALESCE($2, name), "
                    f"description = COALESCE($3, description), active = COALESCE($4, active), "
                    f"tokens_valid_after = {_ENDS_TOKENS}, "
                    f"updated = $5 WHERE id = $1 RETURNING {_ACCOUNT_COLUMNS}",
                    account_id,
                    name,
                    description,
                    active,
                    now,
                )
                if row is not None:
                    await ChangeLog.record(conn, f"service_account:{account_id}", now)
                    await record_in(conn, audit)
        except UniqueViolation:
            raise AlreadyExists(f"a service account named {name!r} already exists") from None
        return None if row is None else _account(row)

    async def delete_account(
        self, account_id: str, *, now: float, audit: AuditEvent | None = None
    ) -> list[str] | None:
        """Delete the account and its keys; return the deleted keys' ids (None when there
        was no such account). Logs the account and every key."""
        async with self._db.transaction() as conn:
            rows = await conn.fetch(
                "SELECT id FROM api_keys WHERE service_account_id = $1", account_id
            )
            key_ids = [r["id"] for r in rows]
            await conn.execute("DELETE FROM api_keys WHERE service_account_id = $1", account_id)
            deleted = await conn.execute("DELETE FROM service_accounts WHERE id = $1", account_id)
            if not deleted:
                return None
            await ChangeLog.record(conn, f"service_account:{account_id}", now)
            await record_in(conn, audit)
            for key_id in key_ids:
                await ChangeLog.record(conn, f"api_key:{key_id}", now)
        return key_ids

    # -- keys -----------------------------------------------------------------------------

    async def create_key(
        self,
        account_id: str,
        name: str,
        description: str,
        *,
        key_digest: str,
        now: float,
        expires_at: float | None = None,
        audit: AuditEvent | None = None,
    ) -> ApiKey:
        """Insert a key (generation 0) stored as ``key_digest``, expiring at ``expires_at``
        (None: never); AlreadyExists when the account already has a key of that name."""
        key_id = str(uuid.uuid4())
        try:
            async with self._db.transaction() as conn:
                await conn.execute(
                    "INSERT INTO api_keys (id, service_account_id, name, description, "
                    "key_digest, created, updated, expires_at) "
                    "VALUES ($1, $2, $3, $4, $5, $6, $6, $7)",
                    key_id,
                    account_id,
                    name,
                    description,
                    key_digest,
                    now,
                    expires_at,
                )
                await record_in(conn, audit, key_id)
        except UniqueViolation:
            raise AlreadyExists(f"the account already has an API key named {name!r}") from None
        created = await self.get_key(key_id)
        assert created is not None
        return created

    async def get_key(self, key_id: str) -> ApiKey | None:
        """The key with this id, or None."""
        row = await self._db.fetchrow(
            f"SELECT {_KEY_COLUMNS} FROM {_KEY_FROM} WHERE k.id = $1", key_id
        )
        return None if row is None else _key(row)

    async def get_key_by_name(self, account_id: str, name: str) -> ApiKey | None:
        """The account's key with this exact name, or None."""
        row = await self._db.fetchrow(
            f"SELECT {_KEY_COLUMNS} FROM {_KEY_FROM} "
            f"WHERE k.service_account_id = $1 AND k.name = $2",
            account_id,
            name,
        )
        return None if row is None else _key(row)

    async def list_keys(
        self, account_id: str, *, offset: int, limit: int
    ) -> tuple[Sequence[ApiKey], int]:
        """One page of the account's keys by name, and how many it has in all."""
        total = await self._db.fetchval(
            "SELECT count(*) FROM api_keys WHERE service_account_id = $1", account_id
        )
        rows = await self._db.fetch(
            f"SELECT {_KEY_COLUMNS} FROM {_KEY_FROM} WHERE k.service_account_id = $1 "
            f"ORDER BY k.name LIMIT $2 OFFSET $3",
            account_id,
            limit,
            offset,
        )
        return [_key(r) for r in rows], int(total)

    async def find_by_digest(self, key_digest: str) -> DigestMatch | None:
        """The key whose current or previous (still kept) digest this is, or None."""
        row = await self._db.fetchrow(
            "SELECT id, generation, key_digest = $1 AS is_current FROM api_keys "
            "WHERE key_digest = $1 OR previous_key_digest = $1",
            key_digest,
        )
        if row is None:
            return None
        generation = int(row["generation"])
        return DigestMatch(row["id"], generation if row["is_current"] else generation - 1)

    async def update_key(
        self,
        key_id: str,
        *,
        now: float,
        name: str | None = None,
        description: str | None = None,
        active: bool | None = None,
        audit: AuditEvent | None = None,
    ) -> ApiKey | None:
        """Change the given fields; None when the key does not exist; AlreadyExists when the
        new name is taken in the account. Logs ``api_key:<id>`` and writes ``audit``."""
        try:
            async with self._db.transaction() as conn:
                changed = await conn.execute(
                    "UPDATE api_keys SET name = COALESCE($2, name), "
                    "description = COALESCE($3, description), active = COALESCE($4, active), "
                    f"tokens_valid_after = {_ENDS_TOKENS}, "
                    "updated = $5 WHERE id = $1",
                    key_id,
                    name,
                    description,
                    active,
                    now,
                )
                if changed:
                    await ChangeLog.record(conn, f"api_key:{key_id}", now)
                    await record_in(conn, audit)
        except UniqueViolation:
            raise AlreadyExists(f"the account already has an API key named {name!r}") from None
        return await self.get_key(key_id) if changed else None

    async def rotate_key(
        self,
        key_id: str,
        *,
        new_digest: str,
        retain_minutes: int,
        now: float,
        expires_at: float | None = None,
        audit: AuditEvent | None = None,
    ) -> ApiKey | None:
        """Replace the key's digest in one statement; the old one is kept ``retain_minutes``
        (not at all when 0); the new one expires at ``expires_at`` (None: never). None when
        the key does not exist. Logs ``api_key:<id>``."""
        keep = retain_minutes > 0
        previous_expires = now + retain_minutes * 60.0 if keep else None
        async with self._db.transaction() as conn:
            changed = await conn.execute(
                "UPDATE api_keys SET "
                "previous_key_digest = CASE WHEN $3 THEN key_digest ELSE NULL END, "
                "previous_expires = $4, "
                "key_digest = $2, generation = generation + 1, retain_period_minutes = $5, "
                "last_rotated = $6, updated = $6, expires_at = $7, expiry_recorded = FALSE "
                "WHERE id = $1",
                key_id,
                new_digest,
                keep,
                previous_expires,
                retain_minutes,
                now,
                expires_at,
            )
            if changed:
                await ChangeLog.record(conn, f"api_key:{key_id}", now)
                await record_in(conn, audit)
        return await self.get_key(key_id) if changed else None

    async def delete_key(self, key_id: str, *, now: float, audit: AuditEvent | None = None) -> bool:
        """Delete the key; False when there was none. Logs ``api_key:<id>``."""
        async with self._db.transaction() as conn:
            deleted = await conn.execute("DELETE FROM api_keys WHERE id = $1", key_id)
            if deleted:
                await ChangeLog.record(conn, f"api_key:{key_id}", now)
                await record_in(conn, audit)
        return bool(deleted)

    async def touch_many(self, last_used: dict[str, float]) -> None:
        """Move ``last_login`` forward for a batch of keys ({key id: when}), in one
        transaction; keys deleted meanwhile are skipped."""
        async with self._db.transaction() as conn:
            for key_id, when in sorted(last_used.items()):
                await conn.execute(
                    "UPDATE api_keys SET last_login = $2 "
                    "WHERE id = $1 AND (last_login IS NULL OR last_login < $2)",
                    key_id,
                    when,
                )

    async def record_expiries(self, now: float, audit: Callable[[str, str], AuditEvent]) -> int:
        """Mark the keys that have expired since the last call and write ``audit(key id,
        "account/key")`` for each, in one transaction; of replicas racing, one records each
        key. Returns how many."""
        async with self._db.transaction() as conn:
            rows = await conn.fetch(
                "UPDATE api_keys SET expiry_recorded = TRUE "
                "WHERE expires_at <= $1 AND NOT expiry_recorded "
                "RETURNING id, name, service_account_id",
                now,
            )
            for row in rows:
                account = await conn.fetchval(
                    "SELECT name FROM service_accounts WHERE id = $1", row["service_account_id"]
                )
                await record_in(conn, audit(row["id"], f"{account}/{row['name']}"))
        return len(rows)

    async def forget_expired_digests(self, now: float) -> int:
        """Drop previous digests whose retain period is over; return how many."""
        return await self._db.execute(
            "UPDATE api_keys SET previous_key_digest = NULL "
            "WHERE previous_key_digest IS NOT NULL AND previous_expires <= $1",
            now,
        )
