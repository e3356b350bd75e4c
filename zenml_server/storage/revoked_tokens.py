"""Access tokens revoked by their ``jti`` (RFC 7009), kept until they expire anyway."""

from __future__ import annotations

from zenml_server.domain.audit import AuditEvent
from zenml_server.storage.audit import record_in
from zenml_server.storage.changes import ChangeLog
from zenml_server.storage.db import Database


class RevokedTokenStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def revoke(
        self,
        jti: str,
        expires: float,
        *,
        entity: str,
        now: float,
        audit: AuditEvent | None = None,
    ) -> bool:
        """Record the revocation and log ``entity`` in one transaction; False when the token
        was already revoked."""
        async with self._db.transaction() as conn:
            added = await conn.execute(
                "INSERT INTO revoked_tokens (jti, expires) VALUES ($1, $2) "
                "ON CONFLICT (jti) DO NOTHING",
                jti,
                expires,
            )
            if added:
                await ChangeLog.record(conn, entity, now)
                await record_in(conn, audit)
        return bool(added)

    async def unexpired(self, now: float) -> list[tuple[str, float]]:
        """Every revoked token that has not expired yet: (jti, expires)."""
        rows = await self._db.fetch(
            "SELECT jti, expires FROM revoked_tokens WHERE expires > $1", now
        )
        return [(r["jti"], float(r["expires"])) for r in rows]

    async def prune(self, now: float) -> int:
        """Forget revocations of tokens that have expired; return how many."""
        return await self._db.execute("DELETE FROM revoked_tokens WHERE expires <= $1", now)
