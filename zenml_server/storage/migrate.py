"""Numbered plain-SQL migrations, applied at start-up and by ``zenml-server migrate``.

Files are ``NNNN_name.sql`` (both engines) or ``NNNN_name.<dialect>.sql`` (one engine). Each
applied number is recorded in ``schema_migrations``. The whole run holds a lock (PostgreSQL
advisory lock; SQLite's write lock) so replicas starting together apply each migration once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from zenml_server.storage.db import Connection, Database

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+?)(?:\.(sqlite|postgresql))?\.sql$")
# Any fixed 64-bit number: the advisory lock that serialises migrations across replicas.
_PG_LOCK_ID = 0x7A656E6D6C5F6D67


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def available(dialect: str) -> list[Migration]:
    """The migrations for ``dialect``, in order."""
    found: dict[int, Migration] = {}
    folder = resources.files("zenml_server.storage.migrations")
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if not match:
            continue
        version, name, only = int(match[1]), match[2], match[3]
        if only is not None and only != dialect:
            continue
        if version in found:
            raise RuntimeError(f"two migrations numbered {version:04d} for {dialect}")
        found[version] = Migration(version, name, entry.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


def statements(sql: str) -> list[str]:
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [stmt.strip() for stmt in "\n".join(lines).split(";") if stmt.strip()]


async def _ledger_exists(conn: Connection, dialect: str) -> bool:
    if dialect == "postgresql":
        found = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    else:
        found = await conn.fetchval(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
        )
    return bool(found)


async def migrate(db: Database, now: float) -> list[int]:
    """Apply every pending migration; return the numbers applied (empty when up to date)."""
    applied_now: list[int] = []
    async with db.transaction() as conn:
        if db.dialect == "postgresql":
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _PG_LOCK_ID)
        if not await _ledger_exists(conn, db.dialect):
            await conn.execute(
                "CREATE TABLE schema_migrations ("
                " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                " applied DOUBLE PRECISION NOT NULL)"
            )
        done = {row["version"] for row in await conn.fetch("SELECT version FROM schema_migrations")}
        for migration in available(db.dialect):
            if migration.version in done:
                continue
            for statement in statements(migration.sql):
                await conn.execute(statement)
            await conn.execute(
                "INSERT INTO schema_migrations (version, name, applied) VALUES ($1, $2, $3)",
                migration.version,
                migration.name,
                now,
            )
            applied_now.append(migration.version)
    return applied_now


async def pending(db: Database) -> list[int]:
    """Numbers of migrations not yet applied."""
    async with db.transaction() as conn:
        if not await _ledger_exists(conn, db.dialect):
            done: set[int] = set()
        else:
            rows = await conn.fetch("SELECT version FROM schema_migrations")
            done = {row["version"] for row in rows}
    return [m.version for m in available(db.dialect) if m.version not in done]
