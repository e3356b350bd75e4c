"""Deployment-wide values kept in the database (deployment id, generated JWT key)."""

from __future__ import annotations

from zenml_server.storage.db import Database


class ServerSettingsStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, key: str) -> str | None:
        """The value stored under ``key``, or None when there is none."""
        value: str | None = await self._db.fetchval(
            "SELECT value FROM server_settings WHERE key = $1", key
        )
        return value

    async def get_or_set(self, key: str, value: str) -> str:
        """Store ``value`` under ``key`` unless a value is there; return the one that stays.

        Atomic: of several processes racing, all get the first writer's value.
        """
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO server_settings (key, value) VALUES ($1, $2) "
                "ON CONFLICT (key) DO NOTHING",
                key,
                value,
            )
            stored: str = await conn.fetchval(
                "SELECT value FROM server_settings WHERE key = $1", key
            )
        return stored
