"""Users linked to OpenID Connect accounts by (issuer, subject), for single sign-on.

A link is made only when the user is created by a single sign-on (just in time); no user
is ever linked by a name or an e-mail address, so a second provider cannot take over an
account.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from zenml_server.domain.models import User
from zenml_server.storage.changes import ChangeLog
from zenml_server.storage.db import Database
from zenml_server.storage.users import _USER_COLUMNS, _user


class IdentityStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def user_for(self, issuer: str, subject: str) -> User | None:
        """The user linked to (issuer, subject), or None."""
        row = await self._db.fetchrow(
            f"SELECT {_USER_COLUMNS} FROM users WHERE id = ("
            f"SELECT user_id FROM user_identities WHERE issuer = $1 AND subject = $2)",
            issuer,
            subject,
        )
        return None if row is None else _user(row)

    async def create_linked_user(
        self, issuer: str, subject: str, names: Sequence[str], *, is_admin: bool, now: float
    ) -> User | None:
        """Create a user under the first free name of ``names``, linked to (issuer, subject),
        in one transaction. None when every name is taken, or when another request linked
        the same identity first (the caller looks it up again)."""
        async with self._db.transaction() as conn:
            if await conn.fetchval(
                "SELECT 1 FROM user_identities WHERE issuer = $1 AND subject = $2",
                issuer,
                subject,
            ):
                return None
            for name in names:
                row = await conn.fetchrow(
                    f"INSERT INTO users "
                    f"(id, name, password_hash, is_admin, active, created, updated) "
                    f"VALUES ($1, $2, NULL, $3, TRUE, $4, $4) "
                    f"ON CONFLICT (name) DO NOTHING RETURNING {_USER_COLUMNS}",
                    str(uuid.uuid4()),
                    name,
                    is_admin,
                    now,
                )
                if row is not None:
                    await conn.execute(
                        "INSERT INTO user_identities (issuer, subject, user_id, created, "
                        "last_login) VALUES ($1, $2, $3, $4, $4)",
                        issuer,
                        subject,
                        row["id"],
                        now,
                    )
                    return _user(row)
        return None

    async def logged_in(
        self, issuer: str, subject: str, user_id: str, *, is_admin: bool | None, now: float
    ) -> User | None:
        """Record a login and, when ``is_admin`` is given, make the user's admin rights match
        it (a change is logged as ``user:<id>`` for the other processes). The user as it is
        now, or None when it was deleted."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE user_identities SET last_login = $3 WHERE issuer = $1 AND subject = $2",
                issuer,
                subject,
                now,
            )
            if is_admin is not None and await conn.execute(
                "UPDATE users SET is_admin = $2, updated = $3 WHERE id = $1 AND is_admin <> $2",
                user_id,
                is_admin,
                now,
            ):
                await ChangeLog.record(conn, f"user:{user_id}", now)
            row = await conn.fetchrow(f"SELECT {_USER_COLUMNS} FROM users WHERE id = $1", user_id)
        return None if row is None else _user(row)
