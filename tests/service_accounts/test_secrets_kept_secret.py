"""No API key is ever written to the database or to a log line."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.builders import bearer
from tests.service_accounts.builders import (
    BASE,
    key_login,
    key_token,
    make_account_with_key,
    make_key,
    rotate,
    whoami,
)
from zenml_server.domain.secrets import API_KEY_PREFIX, digest
from zenml_server.http.keys import SERVICES
from zenml_server.storage.store import Store


async def _dump(store: Store) -> str:
    """The text of every row of every table."""
    if store.db.dialect == "sqlite":
        rows = await store.db.fetch("SELECT name FROM sqlite_master WHERE type = 'table'")
    else:
        rows = await store.db.fetch(
            "SELECT table_name AS name FROM information_schema.tables "
            "WHERE table_schema = current_schema()"
        )
    tables = sorted(r["name"] for r in rows)
    assert "api_keys" in tables and "credential_changes" in tables
    parts = []
    for table in tables:
        for row in await store.db.fetch(f'SELECT * FROM "{table}"'):
            parts.append(" ".join(str(row[k]) for k in row.keys()))
    return "\n".join(parts)


async def test_keys_never_stored_nor_logged(
    client: Any, admin_token: str, store: Store, clock: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """After create, login, bearer use, rotation and refusals, neither the database dump nor
    any log record holds a key (or its random part); the database holds only digests."""
    caplog.set_level(logging.DEBUG)
    _, first = await make_account_with_key(client, admin_token)
    second = (await make_key(client, admin_token, "ci", "k2", description="second"))["key"]
    await key_token(client, first)
    assert await whoami(client, first) == 200
    rotated = (await rotate(client, admin_token, "ci", "default", retain=5))["key"]
    await key_token(client, rotated)
    await key_token(client, first)
    await client.put(f"{BASE}/ci/api_keys/k2", json={"active": False}, headers=bearer(admin_token))
    assert (await key_login(client, second)).status == 400
    assert await whoami(client, second) == 401
    await client.app[SERVICES].wiring.last_used.flush()
    dump = await _dump(store)
    logged = (
        "\n".join(f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records)
        + caplog.text
    )
    for secret in (first, second, rotated):
        body = secret[len(API_KEY_PREFIX) :]
        for text in (dump, logged):
            assert secret not in text
            assert body[:20] not in text
    assert API_KEY_PREFIX not in dump
    assert digest(rotated) in dump and digest(first) in dump
