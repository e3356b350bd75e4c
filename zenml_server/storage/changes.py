"""The log of credential changes that other server processes must hear of.

Writers call ``record`` in the same transaction as the change itself; every process polls
``since`` (and, on PostgreSQL, also hears a NOTIFY) and drops what it cached for that entity.
Entities are strings such as ``device:<id>``, ``user:<id>``, ``service_account:<id>``,
``api_key:<id>``.
"""

from __future__ import annotations

from zenml_server.storage.db import Connection, Database


class ChangeLog:
    def __init__(self, db: Database) -> None:
        self._db = db

    @staticmethod
    async def record(conn: Connection, entity: str, now: float) -> None:
        """Append a change for ``entity`` inside the caller's transaction."""
        await conn.execute(
            "INSERT INTO credential_changes (entity, created) VALUES ($1, $2)", entity, now
        )

    async def latest(self) -> int:
        """The id of the newest change (0 when there is none)."""
        value = await self._db.fetchval("SELECT max(id) FROM credential_changes")
        return int(value or 0)

    async def since(self, cursor: int, limit: int = 1000) -> list[tuple[int, str]]:
        """Changes newer than ``cursor``, oldest first, at most ``limit``."""
        rows = await self._db.fetch(
            "SELECT id, entity FROM credential_changes WHERE id > $1 ORDER BY id LIMIT $2",
            cursor,
            limit,
        )
        return [(int(r["id"]), r["entity"]) for r in rows]

    async def prune(self, before: float) -> int:
        """Delete changes older than ``before``; return how many."""
        return await self._db.execute("DELETE FROM credential_changes WHERE created < $1", before)
