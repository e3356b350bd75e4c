"""Device authorizations and authorized devices (RFC 8628).

One row per authorization: created ``pending`` by the CLI, approved (``verified``) or
``denied`` by a user, turned ``active`` when its token is collected, ``locked`` by its owner
or by too many wrong codes. The device code and the user code are kept only as digests and
looked up through their unique indexes.

Every change that can take a credential back is logged in ``credential_changes`` in the same
transaction (``device:<id>``); the caller announces it after commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from zenml_server.domain.audit import AuditEvent
from zenml_server.domain.models import ApprovalVia, Device, DeviceStatus, LockedBy
from zenml_server.storage.audit import record_in
from zenml_server.storage.changes import ChangeLog
from zenml_server.storage.db import Connection, Database, Row

# The owner's name comes from a scalar subquery so that UPDATE … RETURNING carries it too.
_COLUMNS = (
    "id, client_id, user_id, status, approved, trusted_device, expires, interval, last_poll, "
    "failed_auth_attempts, hostname, os, python_version, client_version, ip_address, "
    "created, updated, last_login, approved_via, approved_by_device_id, locked_by, "
    "locked_because_of, client_name, "
    "(SELECT users.name FROM users WHERE users.id = devices.user_id) AS user_name"
)
# The statuses of an authorization whose codes still mean something.
_CODE_PHASE = "('pending', 'verified')"


def _opt_float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


def _device(row: Row) -> Device:
    return Device(
        id=row["id"],
        client_id=row["client_id"],
        user_id=row["user_id"],
        status=DeviceStatus(row["status"]),
        trusted_device=bool(row["trusted_device"]),
        expires=float(row["expires"]),
        interval=int(row["interval"]),
        last_poll=_opt_float(row["last_poll"]),
        failed_auth_attempts=int(row["failed_auth_attempts"]),
        hostname=row["hostname"],
        os=row["os"],
        python_version=row["python_version"],
        client_version=row["client_version"],
        ip_address=row["ip_address"],
        created=float(row["created"]),
        updated=float(row["updated"]),
        last_login=_opt_float(row["last_login"]),
        approved=bool(row["approved"]),
        user_name=row["user_name"],
        approved_via=None if row["approved_via"] is None else ApprovalVia(row["approved_via"]),
        approved_by_device_id=row["approved_by_device_id"],
        locked_by=None if row["locked_by"] is None else LockedBy(row["locked_by"]),
        locked_because_of=row["locked_because_of"],
        client_name=row["client_name"],
    )


@dataclass(frozen=True, slots=True)
class DeviceMetadata:
    """What a device says about itself when it asks (all optional, already trimmed)."""

    hostname: str | None = None
    os: str | None = None
    python_version: str | None = None
    client_version: str | None = None
    ip_address: str | None = None
    client_name: str | None = None


class DeviceStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- the authorization grant -------------------------------------------------------------

    async def create_authorization(
        self,
        *,
        client_id: str,
        device_code_digest: str,
        user_code_digest: str,
        expires: float,
        interval: int,
        metadata: DeviceMetadata,
        now: float,
    ) -> Device:
        """Insert a pending authorization; raise UniqueViolation when a code digest is taken."""
        row = await self._db.fetchrow(
            "INSERT INTO devices (id, client_id, status, device_code_digest, user_code_digest, "
            "expires, interval, hostname, os, python_version, client_version, ip_address, "
            "created, updated, client_name) "
            "VALUES ($1, $2, 'pending', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13) "
            f"RETURNING {_COLUMNS}",
            str(uuid.uuid4()),
            client_id,
            device_code_digest,
            user_code_digest,
            expires,
            interval,
            metadata.hostname,
            metadata.os,
            metadata.python_version,
            metadata.client_version,
            metadata.ip_address,
            now,
            metadata.client_name,
        )
        assert row is not None
        return _device(row)

    async def count_pending_from(self, ip_address: str, now: float) -> int:
        """How many unexpired authorizations from ``ip_address`` wait for approval."""
        count = await self._db.fetchval(
            "SELECT count(*) FROM devices "
            "WHERE status = 'pending' AND ip_address = $1 AND expires > $2",
            ip_address,
            now,
        )
        return int(count or 0)

    async def get_by_device_code(self, device_code_digest: str) -> Device | None:
        """The authorization with this device code digest, or None."""
        row = await self._db.fetchrow(
            f"SELECT {_COLUMNS} FROM devices WHERE device_code_digest = $1", device_code_digest
        )
        return None if row is None else _device(row)

    async def get_by_user_code(self, user_code_digest: str) -> Device | None:
        """The authorization with this user code digest, or None."""
        row = await self._db.fetchrow(
            f"SELECT {_COLUMNS} FROM devices WHERE user_code_digest = $1", user_code_digest
        )
        return None if row is None else _device(row)

    async def record_poll(
        self, device_id: str, *, seen_last_poll: float | None, interval: int, now: float
    ) -> bool:
        """Set ``last_poll`` to ``now`` and the interval, only if no other poll came between.

        A compare-and-set on ``last_poll``: False when ``last_poll`` is no longer
        ``seen_last_poll`` (a concurrent poll won) or the row is gone.
        """
        changed = await self._db.execute(
            "UPDATE devices SET last_poll = $2, interval = $3 "
            "WHERE id = $1 AND last_poll IS NOT DISTINCT FROM CAST($4 AS DOUBLE PRECISION)",
            device_id,
            now,
            interval,
            seen_last_poll,
        )
        return changed == 1

    async def count_failed_attempt(
        self,
        *,
        max_attempts: int,
        now: float,
        device_id: str | None = None,
        client_id: str = "",
        audit: Callable[[Device], AuditEvent] | None = None,
    ) -> list[Device]:
        """Count a wrong code against authorizations still in their code phase.

        Either the one with ``device_id``, or every pending/verified one of ``client_id``.
        Reaching ``max_attempts`` locks them (and logs the change, and writes ``audit(device)``
        for each). Returns the rows changed.
        """
        where = "id = $3" if device_id is not None else "client_id = $3"
        async with self._db.transaction() as conn:
            rows = await conn.fetch(
                "UPDATE devices SET failed_auth_attempts = failed_auth_attempts + 1, "
                "status = CASE WHEN failed_auth_attempts + 1 >= $1 THEN 'locked' ELSE status END, "
                "locked_by = CASE WHEN failed_auth_attempts + 1 >= $1 THEN 'wrong_codes' "
                "ELSE locked_by END, "
                f"updated = $2 WHERE {where} AND status IN {_CODE_PHASE} RETURNING {_COLUMNS}",
                max_attempts,
                now,
                device_id if device_id is not None else client_id,
            )
            devices = [_device(r) for r in rows]
            for device in devices:
                if device.status is DeviceStatus.LOCKED:
                    await ChangeLog.record(conn, f"device:{device.id}", now)
                    if audit is not None:
                        await record_in(conn, audit(device))
        return devices

    async def decide(
        self,
        device_id: str,
        *,
        user_id: str,
        approve: bool,
        trusted: bool,
        now: float,
        via: ApprovalVia | None = None,
        by_device_id: str | None = None,
        audit: AuditEvent | None = None,
    ) -> Device | None:
        """Approve (``verified``) or deny a pending authorization whose codes still work.

        One conditional UPDATE: None when it is no longer pending or has expired, so an
        approval can never resurrect a consumed, denied, locked or expired code. An approval
        records how the approver was logged in (``via``) and the approving device, if any.
        """
        async with self._db.transaction() as conn:
            row = await conn.fetchrow(
                "UPDATE devices SET status = $2, approved = $3, user_id = $4, "
                "trusted_device = $5, updated = $6, approved_via = $7, "
                "approved_by_device_id = $8 "
                f"WHERE id = $1 AND status = 'pending' AND expires > $6 RETURNING {_COLUMNS}",
                device_id,
                DeviceStatus.VERIFIED.value if approve else DeviceStatus.DENIED.value,
                approve,
                user_id,
                approve and trusted,
                now,
                None if via is None or not approve else via.value,
                by_device_id if approve else None,
            )
            if row is not None:
                await record_in(conn, audit)
            if row is not None and not approve:
                await ChangeLog.record(conn, f"device:{device_id}", now)
        return None if row is None else _device(row)

    @staticmethod
    async def activate(
        conn: Connection, device_id: str, *, token_expires: float, now: float
    ) -> Device | None:
        """Turn an approved authorization into an active device: the code is spent.

        Runs in the caller's transaction (the one that issues the token); None unless the
        row was ``verified`` with unexpired codes, so of N concurrent polls exactly one wins.
        """
        row = await conn.fetchrow(
            "UPDATE devices SET status = 'active', expires = $2, last_login = $3, updated = $3 "
            f"WHERE id = $1 AND status = 'verified' AND expires > $3 RETURNING {_COLUMNS}",
            device_id,
            token_expires,
            now,
        )
        return None if row is None else _device(row)

    async def cancel_authorization(
        self, device_code_digest: str, *, client_id: str, now: float
    ) -> str | None:
        """Withdraw an authorization its client gave up on, while its codes still work.

        One conditional UPDATE: a pending or approved-but-uncollected row of ``client_id``
        becomes ``expired`` now (never approved, so housekeeping prunes it). Returns its id,
        or None when there was nothing to cancel (unknown, another client's, decided, spent).
        """
        row = await self._db.fetchrow(
            "UPDATE devices SET status = 'expired', approved = FALSE, expires = $3, updated = $3 "
            f"WHERE device_code_digest = $1 AND client_id = $2 AND status IN {_CODE_PHASE} "
            "AND expires > $3 RETURNING id",
            device_code_digest,
            client_id,
            now,
        )
        return None if row is None else str(row["id"])

    async def prune_expired_authorizations(self, now: float, *, remember: float) -> int:
        """Delete never-approved authorizations whose codes expired; return how many.

        The digest of each deleted user code is kept as a tombstone for ``remember`` seconds
        after it expired (see ``code_expired``); tombstones past that are deleted too.
        """
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO device_code_tombstones (user_code_digest, keep_until) "
                "SELECT user_code_digest, expires + $2 FROM devices "
                "WHERE approved = FALSE AND expires <= $1 AND expires + $2 > $1 "
                "ON CONFLICT (user_code_digest) DO NOTHING",
                now,
                remember,
            )
            removed = await conn.execute(
                "DELETE FROM devices WHERE approved = FALSE AND expires <= $1", now
            )
            await conn.execute("DELETE FROM device_code_tombstones WHERE keep_until <= $1", now)
        return removed

    async def code_expired(self, user_code_digest: str, now: float) -> bool:
        """True when this user code belonged to an authorization that expired unapproved and
        was deleted less than the tombstone period ago."""
        found = await self._db.fetchval(
            "SELECT 1 FROM device_code_tombstones WHERE user_code_digest = $1 AND keep_until > $2",
            user_code_digest,
            now,
        )
        return found is not None

    # -- device management -------------------------------------------------------------------

    async def get(self, device_id: str) -> Device | None:
        """The device with this id (``user_name`` filled in), or None."""
        row = await self._db.fetchrow(f"SELECT {_COLUMNS} FROM devices WHERE id = $1", device_id)
        return None if row is None else _device(row)

    async def list(
        self,
        user_id: str | None = None,
        status: DeviceStatus | None = None,
        trusted: bool | None = None,
        offset: int = 0,
        limit: int = 50,
        statuses: Sequence[DeviceStatus] = (),
    ) -> tuple[list[Device], int]:
        """One page of devices matching every filter given, newest first, and their total.

        ``statuses``, when not empty, keeps devices in any of those states.
        """
        conditions = [
            "(CAST($1 AS TEXT) IS NULL OR user_id = $1)",
            "(CAST($2 AS TEXT) IS NULL OR status = $2)",
        ]
        args: list[object] = [user_id, None if status is None else status.value]
        if trusted is not None:
            conditions.append(f"trusted_device = ${len(args) + 1}")
            args.append(trusted)
        if statuses:
            first = len(args) + 1
            marks = ", ".join(f"${first + i}" for i in range(len(statuses)))
            conditions.append(f"status IN ({marks})")
            args.extend(s.value for s in statuses)
        where = " AND ".join(conditions)
        n = len(args)
        rows = await self._db.fetch(
            f"SELECT {_COLUMNS} FROM devices WHERE {where} "
            f"ORDER BY created DESC, id DESC LIMIT ${n + 1} OFFSET ${n + 2}",
            *args,
            limit,
            offset,
        )
        total = await self._db.fetchval(f"SELECT count(*) FROM devices WHERE {where}", *args)
        return [_device(r) for r in rows], int(total)

    async def set_locked(
        self,
        device_id: str,
        locked: bool,
        now: float,
        *,
        by: LockedBy = LockedBy.OWNER,
        audit: AuditEvent | None = None,
    ) -> tuple[Device, Sequence[Device]] | None:
        """Lock, or unlock, a device; None when it does not exist.

        A lock records who set it (an admin's lock stays an admin's when its owner locks it
        again) and, in the same transaction, locks every device this one approved,
        transitively; those are returned second. Unlocking clears who locked it, resets the
        wrong-code counter and returns the device to the status it had before: ``active``
        once its token was collected, ``verified`` when approved but not yet collected,
        ``denied`` when a user refused it, else ``pending``. It unlocks this device only.
        """
        if locked:
            sql = (
                "UPDATE devices SET status = 'locked', locked_because_of = NULL, "
                "locked_by = CASE WHEN status = 'locked' AND locked_by = 'admin' "
                "THEN 'admin' ELSE $3 END, updated = $2 "
                f"WHERE id = $1 RETURNING {_COLUMNS}"
            )
            args: tuple[object, ...] = (device_id, now, by.value)
        else:
            sql = (
                "UPDATE devices SET status = CASE WHEN status <> 'locked' THEN status "
                "WHEN approved AND last_login IS NOT NULL THEN 'active' "
                "WHEN approved THEN 'verified' "
                "WHEN user_id IS NOT NULL THEN 'denied' "
                "ELSE 'pending' END, "
                "locked_by = NULL, locked_because_of = NULL, failed_auth_attempts = 0, "
                f"updated = $2 WHERE id = $1 RETURNING {_COLUMNS}"
            )
            args = (device_id, now)
        async with self._db.transaction() as conn:
            row = await conn.fetchrow(sql, *args)
            if row is None:
                return None
            await ChangeLog.record(conn, f"device:{device_id}", now)
            await record_in(conn, audit)
            cascaded: Sequence[Device] = []
            if locked:
                cascaded = await self._lock_approved_by(conn, device_id, by, now)
        return _device(row), cascaded

    async def delete(
        self,
        device_id: str,
        now: float,
        *,
        by: LockedBy = LockedBy.OWNER,
        audit: AuditEvent | None = None,
    ) -> Sequence[Device] | None:
        """Delete a device; None when it did not exist. In the same transaction every device
        it approved, transitively, is locked (by ``by``); those are returned."""
        async with self._db.transaction() as conn:
            deleted = await conn.execute("DELETE FROM devices WHERE id = $1", device_id)
            if not deleted:
                return None
            await ChangeLog.record(conn, f"device:{device_id}", now)
            await record_in(conn, audit)
            return await self._lock_approved_by(conn, device_id, by, now)

    @staticmethod
    async def _lock_approved_by(
        conn: Connection, root_id: str, by: LockedBy, now: float
    ) -> Sequence[Device]:
        """Lock every device ``root_id`` approved, and those they approved, and so on.

        An admin's cascade also takes over locks set by others, so only an admin lifts them.
        """
        rows = await conn.fetch(
            "WITH RECURSIVE tree(id) AS ("
            " SELECT id FROM devices WHERE approved_by_device_id = $1"
            " UNION SELECT d.id FROM devices d JOIN tree t ON d.approved_by_device_id = t.id) "
            "UPDATE devices SET status = 'locked', locked_by = $2, locked_because_of = $1, "
            "updated = $3 WHERE id IN (SELECT id FROM tree) AND "
            "(status <> 'locked' OR ($2 = 'admin' AND locked_by IS DISTINCT FROM 'admin')) "
            f"RETURNING {_COLUMNS}",
            root_id,
            by.value,
            now,
        )
        devices = [_device(r) for r in rows]
        for device in devices:
            await ChangeLog.record(conn, f"device:{device.id}", now)
        return devices

    async def client_logged_in_before(self, user_id: str, client_id: str, but: str) -> bool:
        """True when ``user_id`` approved another device of ``client_id`` that collected its
        token (this computer logged in to this account before)."""
        found = await self._db.fetchval(
            "SELECT count(*) FROM devices WHERE user_id = $1 AND client_id = $2 AND id <> $3 "
            "AND approved AND last_login IS NOT NULL",
            user_id,
            client_id,
            but,
        )
        return bool(found)

    async def touch_many(self, last_used: dict[str, float]) -> None:
        """Store ``last_login`` for many devices in one transaction (never moves it back)."""
        if not last_used:
            return
        async with self._db.transaction() as conn:
            for device_id, when in sorted(last_used.items()):
                await conn.execute(
                    "UPDATE devices SET last_login = $2 "
                    "WHERE id = $1 AND (last_login IS NULL OR last_login < $2)",
                    device_id,
                    when,
                )
