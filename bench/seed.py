"""Seed a migrated database with many devices, API keys and revoked tokens, through SQL.

    python -m bench.seed DATABASE_URL [--devices 1000000] [--api-keys 100000]
                                      [--revoked-tokens 0]

Rows follow zenml_server/storage/migrations/*.sql. Devices belong to the oldest user (start
the server once first so that the admin exists): 90 % active, 5 % locked, 5 % pending with
codes valid for a day (nothing the housekeeping sweep would delete). API keys are spread over
service accounts, 100 keys each. Every digest is the SHA-256 hex of a random string, so no
seeded credential can be used. Revoked tokens are random ``jti``s (as the server makes them)
expiring a day or two from now: a server loads them into its in-memory set only at start,
so start it after seeding them. PostgreSQL rows go in with COPY, SQLite rows with
executemany, each in batches inside one transaction.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import sqlite3
import time
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg

BATCH = 50_000
KEYS_PER_ACCOUNT = 100
DEVICE_COLUMNS = (
    "id", "client_id", "user_id", "status", "approved", "device_code_digest",
    "user_code_digest", "trusted_device", "expires", "interval", "last_poll",
    "failed_auth_attempts", "hostname", "os", "python_version", "client_version",
    "ip_address", "created", "updated", "last_login",
)  # fmt: skip
ACCOUNT_COLUMNS = ("id", "name", "description", "active", "created", "updated")
KEY_COLUMNS = (
    "id", "service_account_id", "name", "description", "key_digest", "previous_key_digest",
    "previous_expires", "generation", "retain_period_minutes", "active", "created", "updated",
    "last_login", "last_rotated",
)  # fmt: skip
REVOKED_COLUMNS = ("jti", "expires")
Row = tuple[Any, ...]


def random_digest() -> str:
    return hashlib.sha256(os.urandom(24).hex().encode()).hexdigest()


def device_rows(count: int, user_id: str, now: float) -> Iterator[Row]:
    for i in range(count):
        kind = i % 20
        if kind == 0:  # pending: never approved, codes valid for a day
            status, approved, owner, expires, last_login = "pending", False, None, now + 86400, None
        elif kind == 1:
            status, approved, owner, expires, last_login = "locked", True, user_id, now + 86400, now
        else:
            status, approved, owner, expires, last_login = (
                "active",
                True,
                user_id,
                now + 30 * 86400,
                now - i % 86400,
            )
        yield (
            str(uuid.uuid4()), str(uuid.uuid4()), owner, status, approved, random_digest(),
            random_digest(), kind % 3 == 0, expires, 5, None, 0, f"seed-host-{i}", "Linux",
            "3.11.7", "0.80.0", "10.0.0.1", now - 3600, now - 3600, last_login,
        )  # fmt: skip


def account_rows(count: int, now: float) -> list[Row]:
    return [(str(uuid.uuid4()), f"seed-account-{i}", "", True, now, now) for i in range(count)]


def key_rows(count: int, accounts: list[Row], now: float) -> Iterator[Row]:
    for i in range(count):
        account_id = accounts[i // KEYS_PER_ACCOUNT][0]
        yield (
            str(uuid.uuid4()), account_id, f"key-{i % KEYS_PER_ACCOUNT}", "", random_digest(),
            None, None, 0, 0, i % 10 != 0, now, now, None, None,
        )  # fmt: skip


def revoked_token_rows(count: int, now: float) -> Iterator[Row]:
    """Unexpired revocations: none expires within a day, so no housekeeping round prunes one
    during a benchmark."""
    for i in range(count):
        yield uuid.uuid4().hex, float(int(now) + 86400 + i % 86400)


def batches(rows: Iterator[Row], size: int = BATCH) -> Iterator[list[Row]]:
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _insert_sql(table: str, columns: tuple[str, ...]) -> str:
    marks = ", ".join("?" for _ in columns)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608


def seed_sqlite(
    path: str, devices: int, api_keys: int, *, revoked_tokens: int = 0, now: float | None = None
) -> None:
    now = time.time() if now is None else now
    conn = sqlite3.connect(path, timeout=30)
    try:
        conn.execute("PRAGMA busy_timeout = 30000")
        # Random digests land all over three unique indexes: keep them in memory while seeding.
        conn.execute("PRAGMA cache_size = -524288")
        owner = _owner(conn.execute("SELECT id FROM users ORDER BY created LIMIT 1").fetchone())
        accounts = account_rows(-(-api_keys // KEYS_PER_ACCOUNT), now)
        with conn:
            user_id = owner
            if user_id is None and devices:
                row = _seed_user_row(now)
                conn.execute(_insert_sql("users", _USER_COLUMNS), row)
                user_id = row[0]
            for batch in batches(device_rows(devices, str(user_id), now)):
                conn.executemany(_insert_sql("devices", DEVICE_COLUMNS), batch)
            conn.executemany(_insert_sql("service_accounts", ACCOUNT_COLUMNS), accounts)
            for batch in batches(key_rows(api_keys, accounts, now)):
                conn.executemany(_insert_sql("api_keys", KEY_COLUMNS), batch)
            for batch in batches(revoked_token_rows(revoked_tokens, now)):
                conn.executemany(_insert_sql("revoked_tokens", REVOKED_COLUMNS), batch)
        conn.execute("ANALYZE")
    finally:
        conn.close()


async def seed_postgres(
    url: str, devices: int, api_keys: int, *, revoked_tokens: int = 0, now: float | None = None
) -> None:
    now = time.time() if now is None else now
    conn = await asyncpg.connect(url)
    try:
        owner = _owner(await conn.fetchrow("SELECT id FROM users ORDER BY created LIMIT 1"))
        accounts = account_rows(-(-api_keys // KEYS_PER_ACCOUNT), now)
        async with conn.transaction():
            user_id = owner
            if user_id is None and devices:
                row = _seed_user_row(now)
                await conn.copy_records_to_table("users", records=[row], columns=_USER_COLUMNS)
                user_id = row[0]
            for batch in batches(device_rows(devices, str(user_id), now)):
                await conn.copy_records_to_table("devices", records=batch, columns=DEVICE_COLUMNS)
            await conn.copy_records_to_table(
                "service_accounts", records=accounts, columns=ACCOUNT_COLUMNS
            )
            for batch in batches(key_rows(api_keys, accounts, now)):
                await conn.copy_records_to_table("api_keys", records=batch, columns=KEY_COLUMNS)
            for batch in batches(revoked_token_rows(revoked_tokens, now)):
                await conn.copy_records_to_table(
                    "revoked_tokens", records=batch, columns=REVOKED_COLUMNS
                )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


_USER_COLUMNS = ("id", "name", "password_hash", "is_admin", "active", "created", "updated")


def _seed_user_row(now: float) -> Row:
    return (str(uuid.uuid4()), "seed-owner", None, False, True, now, now)


def _owner(row: Any) -> str | None:
    return None if row is None else str(row[0])


def seed(database_url: str, devices: int, api_keys: int, revoked_tokens: int = 0) -> float:
    """Seed ``database_url`` (already migrated); return the seconds it took."""
    started = time.perf_counter()
    if database_url.startswith("sqlite:///"):
        path = database_url[len("sqlite:///") :]
        seed_sqlite(path, devices, api_keys, revoked_tokens=revoked_tokens)
    else:
        asyncio.run(seed_postgres(database_url, devices, api_keys, revoked_tokens=revoked_tokens))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Seed devices, API keys and revoked tokens through SQL."
    )
    parser.add_argument("database_url", help="sqlite:////abs/path.sqlite or postgresql://...")
    parser.add_argument("--devices", type=int, default=1_000_000)
    parser.add_argument("--api-keys", type=int, default=100_000)
    parser.add_argument("--revoked-tokens", type=int, default=0, help="unexpired revoked jtis")
    parser.add_argument("--migrate", action="store_true", help="apply migrations first")
    args = parser.parse_args()
    if args.migrate:
        from bench.servers import migrate

        migrate(args.database_url)
    took = seed(args.database_url, args.devices, args.api_keys, args.revoked_tokens)
    print(
        f"seeded {args.devices} devices, {args.api_keys} API keys and {args.revoked_tokens} "
        f"revoked tokens in {took:.1f} s"
    )


if __name__ == "__main__":
    main()
