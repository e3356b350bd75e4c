"""Token signing keys, shared by replicas through the database.

Key material is stored sealed (``domain/sealing.py``); this store never sees it in the clear.
A new generation is one INSERT under a unique ``generation``: of replicas racing to make the
first key, or admins racing to rotate, exactly one wins and all see the same keys.
"""

from __future__ import annotations

from dataclasses import dataclass

from zenml_server.domain.audit import AuditEvent
from zenml_server.storage.audit import record_in
from zenml_server.storage.changes import ChangeLog
from zenml_server.storage.db import Database

# The change-log entity that tells every process to reload the keys.
ENTITY = "signing_keys"


@dataclass(frozen=True, slots=True)
class StoredKey:
    kid: str
    generation: int
    alg: str
    material: str
    created: float


class SigningKeyStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def all(self) -> list[StoredKey]:
        """Every stored key, oldest generation first."""
        rows = await self._db.fetch(
            "SELECT kid, generation, alg, material, created FROM signing_keys ORDER BY generation"
        )
        return [
            StoredKey(r["kid"], int(r["generation"]), r["alg"], r["material"], float(r["created"]))
            for r in rows
        ]

    async def add(self, key: StoredKey, audit: AuditEvent | None = None) -> bool:
        """Insert ``key`` unless its generation exists; True when this one was stored.
        Logs ``signing_keys`` so that other processes reload."""
        async with self._db.transaction() as conn:
            added = await conn.execute(
                "INSERT INTO signing_keys (kid, generation, alg, material, created) "
                "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (generation) DO NOTHING",
                key.kid,
                key.generation,
                key.alg,
                key.material,
                key.created,
            )
            if added:
                await ChangeLog.record(conn, ENTITY, key.created)
                await record_in(conn, audit)
        return bool(added)

    async def adopt_setting(self, setting: str, key: StoredKey) -> bool:
        """Move a secret kept in ``server_settings`` under ``setting`` into ``key`` (sealed),
        removing it from there in the same transaction; True when it was moved."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO signing_keys (kid, generation, alg, material, created) "
                "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (generation) DO NOTHING",
                key.kid,
                key.generation,
                key.alg,
                key.material,
                key.created,
            )
            removed = await conn.execute("DELETE FROM server_settings WHERE key = $1", setting)
        return bool(removed)

    async def reseal(self, kid: str, old: str, new: str) -> None:
        """Replace the material of ``kid`` when it is still ``old``."""
        await self._db.execute(
            "UPDATE signing_keys SET material = $3 WHERE kid = $1 AND material = $2", kid, old, new
        )

    async def reseal_setting(self, setting: str, old: str, new: str) -> None:
        """Replace a sealed value kept in ``server_settings`` when it is still ``old``."""
        await self._db.execute(
            "UPDATE server_settings SET value = $3 WHERE key = $1 AND value = $2",
            setting,
            old,
            new,
        )

    async def delete_older_than(self, generation: int, now: float) -> int:
        """Delete keys of generations below ``generation``; return how many."""
        async with self._db.transaction() as conn:
            removed = await conn.execute(
                "DELETE FROM signing_keys WHERE generation < $1", generation
            )
            if removed:
                await ChangeLog.record(conn, ENTITY, now)
        return removed
