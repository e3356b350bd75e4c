"""The backup the README describes: a plain pg_dump of the database, restored with psql into an
empty database, brings back a working server: the admin logs in and tokens issued before the
backup still work, given the same encryption key, without which the stored signing keys do not
open (which is why the key is kept, apart, with the backup).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.builders import ADMIN_PASSWORD
from tests.conftest import IN_CI, _create_pg_database, _drop_pg_database, _pg_url
from tests.servers import serving_app

pytestmark = pytest.mark.postgres

# As deployed: generated Ed25519 signing keys in the database, encrypted with this key.
DEPLOYED = {"jwt_secret_key": None, "encryption_key": "the-encryption-key-kept-with-the-backup"}


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        if IN_CI:
            pytest.fail(f"{name} (PostgreSQL client) is needed in CI")
        pytest.skip(f"{name} not installed")
    return found


async def _run_tool(*command: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env
    )
    _, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, err.decode(errors="replace")


async def _check(*command: str) -> None:
    code, err = await _run_tool(*command)
    assert code == 0, err


async def _login(session: aiohttp.ClientSession, url: str) -> str:
    form = {"username": "admin", "password": ADMIN_PASSWORD}
    async with session.post(f"{url}/api/v1/login", data=form) as resp:
        assert resp.status == 200
        token: str = (await resp.json())["access_token"]
        return token


async def _current_user(session: aiohttp.ClientSession, url: str, token: str) -> str:
    headers = {"Authorization": f"Bearer {token}"}
    async with session.get(f"{url}/api/v1/current-user", headers=headers) as resp:
        assert resp.status == 200
        name: str = (await resp.json())["name"]
        return name


async def test_pg_dump_and_psql_restore_bring_back_users_and_tokens(
    postgres_url: str, tmp_path: Path
) -> None:
    """pg_dump, then psql into an empty database: admin login and an old token both work."""
    pg_dump, psql = _tool("pg_dump"), _tool("psql")
    original, restored = await _create_pg_database(), await _create_pg_database()
    dump = tmp_path / "zenml.sql"
    try:
        async with aiohttp.ClientSession() as session:
            async with serving_app(_pg_url(original), **DEPLOYED) as url:
                token = await _login(session, url)
                assert await _current_user(session, url, token) == "admin"
            await _check(pg_dump, "--dbname", _pg_url(original), "--file", str(dump))
            await _check(
                psql, "--dbname", _pg_url(restored), "-v", "ON_ERROR_STOP=1", "-q", "-f", str(dump)
            )
            async with serving_app(_pg_url(restored), **DEPLOYED) as url:
                assert await _current_user(session, url, token) == "admin"
                assert await _current_user(session, url, await _login(session, url)) == "admin"
    finally:
        await _drop_pg_database(original)
        await _drop_pg_database(restored)


async def test_a_restored_database_without_its_encryption_key_does_not_open(
    postgres_url: str,
) -> None:
    """With another encryption key, the server refuses the restored keys in one line."""
    database = await _create_pg_database()
    try:
        async with serving_app(_pg_url(database), **DEPLOYED):
            pass
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("ZENML_SERVER_")},
            "ZENML_SERVER_DATABASE_URL": _pg_url(database),
            "ZENML_SERVER_ENCRYPTION_KEY": "not-the-key-the-database-was-sealed-with",
        }
        code, err = await _run_tool(sys.executable, "-m", "zenml_server", "keys", "list", env=env)
        assert code != 0
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
        assert "ZENML_SERVER_ENCRYPTION_KEY does not open the stored signing keys" in err
    finally:
        await _drop_pg_database(database)
