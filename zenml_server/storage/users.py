"""Users and their browser sessions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from zenml_server.domain.audit import AuditEvent
from zenml_server.domain.errors import AlreadyExists, NotPermitted
from zenml_server.domain.models import User, WebSession
from zenml_server.storage.audit import record_in
from zenml_server.storage.changes import ChangeLog
from zenml_server.storage.db import Connection, Database, Row, UniqueViolation

LAST_ADMIN = "the last active admin cannot be demoted, deactivated or deleted"
_USER_COLUMNS = (
    "id, name, password_hash, is_admin, active, credentials_generation, created, updated"
)


def _user(row: Row) -> User:
    return User(
        id=row["id"],
        name=row["name"],
        password_hash=row["password_hash"],
        is_admin=bool(row["is_admin"]),
        active=bool(row["active"]),
        created=float(row["created"]),
        updated=float(row["updated"]),
        credentials_generation=int(row["credentials_generation"]),
    )


class UserStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self,
        name: str,
        password_hash: str | None,
        *,
        is_admin: bool,
        active: bool,
        now: float,
        audit: AuditEvent | None = None,
    ) -> User:
        """Insert a user (and its ``audit`` row); raise AlreadyExists when the name is taken."""
        user_id = str(uuid.uuid4())
        try:
            async with self._db.transaction() as conn:
                row = await conn.fetchrow(
                    f"INSERT INTO users "
                    f"(id, name, password_hash, is_admin, active, created, updated) "
                    f"VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {_USER_COLUMNS}",
                    user_id,
                    name,
                    password_hash,
                    is_admin,
                    active,
                    now,
                )
                await record_in(conn, audit, user_id)
        except UniqueViolation:
            raise AlreadyExists(f"a user named {name!r} already exists") from None
        assert row is not None
        return _user(row)

    async def create_first_admin(self, name: str, password_hash: str, now: float) -> User | None:
        """Create an admin only when there are no users at all; None when some exist.

        Safe against replicas starting together: the check and insert are one transaction.
        """
        async with self._db.transaction() as conn:
            if await conn.fetchval("SELECT count(*) FROM users"):
                return None
            row = await conn.fetchrow(
                f"INSERT INTO users (id, name, password_hash, is_admin, active, created, updated) "
                f"VALUES ($1, $2, $3, TRUE, TRUE, $4, $4) "
                f"ON CONFLICT (name) DO NOTHING RETURNING {_USER_COLUMNS}",
                str(uuid.uuid4()),
                name,
                password_hash,
                now,
            )
        return None if row is None else _user(row)

    async def get(self, user_id: str) -> User | None:
        """The user with this id, or None."""
        row = await self._db.fetchrow(f"SELECT {_USER_COLUMNS} FROM users WHERE id = $1", user_id)
        return None if row is None else _user(row)

    async def get_by_name(self, name: str) -> User | None:
        """The user with this exact name, or None."""
        row = await self._db.fetchrow(f"SELECT {_USER_COLUMNS} FROM users WHERE name = $1", name)
        return None if row is None else _user(row)

    async def list(self) -> Sequence[User]:
        """All users, by name."""
        rows = await self._db.fetch(f"SELECT {_USER_COLUMNS} FROM users ORDER BY name")
        return [_user(r) for r in rows]

    async def update(
        self,
        user_id: str,
        *,
        now: float,
        password_hash: str | None = None,
        active: bool | None = None,
        is_admin: bool | None = None,
        audit: AuditEvent | None = None,
    ) -> User | None:
        """Change the given fields (and write ``audit``); None when the user does not exist.

        A new password or a deactivation moves the credentials generation on (ending every
        token issued before) and drops the user's browser sessions.
        """
        ends_credentials = password_hash is not None or active is False
        async with self._db.transaction() as conn:
            if is_admin is False or active is False:
                await self._keep_an_admin(conn, user_id)
            row = await conn.fetchrow(
                f"UPDATE users SET "
                f"password_hash = COALESCE($2, password_hash), "
                f"active = COALESCE($3, active), "
                f"is_admin = COALESCE($4, is_admin), "
                f"credentials_generation = credentials_generation + $5, "
                f"updated = $6 WHERE id = $1 RETURNING {_USER_COLUMNS}",
                user_id,
                password_hash,
                active,
                is_admin,
                1 if ends_credentials else 0,
                now,
            )
            if row is not None:
                await record_in(conn, audit)
            if row is not None and ends_credentials:
                await conn.execute("DELETE FROM web_sessions WHERE user_id = $1", user_id)
                await ChangeLog.record(conn, f"user:{user_id}", now)
        return None if row is None else _user(row)

    async def change_password(
        self,
        user_id: str,
        password_hash: str,
        *,
        now: float,
        keep_session: str | None,
        audit: AuditEvent | None = None,
    ) -> User | None:
        """Set a new password; None when the user does not exist.

        The credentials generation moves on (every token issued before ends) and every
        browser session but ``keep_session`` (a session digest: the one that asked) is dropped.
        """
        async with self._db.transaction() as conn:
            row = await conn.fetchrow(
                f"UPDATE users SET password_hash = $2, "
                f"credentials_generation = credentials_generation + 1, updated = $3 "
                f"WHERE id = $1 RETURNING {_USER_COLUMNS}",
                user_id,
                password_hash,
                now,
            )
            if row is not None:
                await conn.execute(
                    "DELETE FROM web_sessions WHERE user_id = $1 AND digest <> $2",
                    user_id,
                    keep_session or "",
                )
                await ChangeLog.record(conn, f"user:{user_id}", now)
                await record_in(conn, audit)
        return None if row is None else _user(row)

    async def delete(
        self, user_id: str, *, now: float, audit: AuditEvent | None = None
    ) -> Sequence[str] | None:
        """Delete a user with their devices and browser sessions, in one transaction;
        return the ids of the devices deleted, or None when the user did not exist.

        Raises NotPermitted for the last active admin.
        """
        async with self._db.transaction() as conn:
            await self._keep_an_admin(conn, user_id)
            rows = await conn.fetch("DELETE FROM devices WHERE user_id = $1 RETURNING id", user_id)
            await conn.execute("DELETE FROM web_sessions WHERE user_id = $1", user_id)
            if not await conn.execute("DELETE FROM users WHERE id = $1", user_id):
                return None
            device_ids = [str(r["id"]) for r in rows]
            for entity in (f"user:{user_id}", *(f"device:{d}" for d in device_ids)):
                await ChangeLog.record(conn, entity, now)
            await record_in(conn, audit)
        return device_ids

    async def _keep_an_admin(self, conn: Connection, user_id: str) -> None:
        """Raise NotPermitted when ``user_id`` is the last active admin (about to be demoted,
        deactivated or deleted). On PostgreSQL the admins' rows are locked first, so two
        admins demoting each other at once cannot both succeed."""
        if self._db.dialect == "postgresql":
            await conn.fetch(
                "SELECT id FROM users WHERE is_admin AND active ORDER BY id FOR UPDATE"
            )
        target = await conn.fetchrow("SELECT is_admin, active FROM users WHERE id = $1", user_id)
        if target is None or not (target["is_admin"] and target["active"]):
            return
        others = await conn.fetchval(
            "SELECT count(*) FROM users WHERE is_admin AND active AND id <> $1", user_id
        )
        if not others:
            raise NotPermitted(LAST_ADMIN)

    async def count(self) -> int:
        return int(await self._db.fetchval("SELECT count(*) FROM users"))


class SessionStore:
    """Browser sessions, keyed by the digest of the cookie value."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(self, digest: str, user_id: str, *, now: float, expires: float) -> None:
        await self._db.execute(
            "INSERT INTO web_sessions (digest, user_id, created, expires) VALUES ($1, $2, $3, $4)",
            digest,
            user_id,
            now,
            expires,
        )

    async def get(self, digest: str, now: float) -> WebSession | None:
        """The live session with this digest, or None when unknown or expired."""
        row = await self._db.fetchrow(
            "SELECT user_id, created, expires FROM web_sessions WHERE digest = $1 AND expires > $2",
            digest,
            now,
        )
        if row is None:
            return None
        return WebSession(row["user_id"], float(row["created"]), float(row["expires"]))

    async def delete(self, digest: str) -> None:
        await self._db.execute("DELETE FROM web_sessions WHERE digest = $1", digest)

    async def prune(self, now: float) -> int:
        """Delete expired sessions; return how many."""
        return await self._db.execute("DELETE FROM web_sessions WHERE expires <= $1", now)
