"""Real server processes: a token revoked on one replica is refused by another within a
second; a key rotated with ``zenml-server keys rotate`` is picked up by a running server."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from tests.builders import ADMIN_PASSWORD
from tests.servers import running_server

PROPAGATION_LIMIT = 1.0


async def _login(session: aiohttp.ClientSession, url: str) -> str:
    async with session.post(
        url + "/api/v1/login", data={"username": "admin", "password": ADMIN_PASSWORD}
    ) as resp:
        assert resp.status == 200, await resp.text()
        token: str = (await resp.json())["access_token"]
        return token


async def _status(session: aiohttp.ClientSession, url: str, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    async with session.get(url + "/api/v1/current-user", headers=headers) as resp:
        return resp.status


def _kid(token: str) -> str:
    part = token.split(".")[0]
    kid: str = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))["kid"]
    return kid


@pytest.mark.postgres
async def test_revocation_on_one_replica_is_refused_by_the_other(
    empty_postgres_url: str, tmp_path: Path
) -> None:
    """A password-login token revoked through replica A is refused by replica B in < 1 s."""
    with (
        running_server(empty_postgres_url, tmp_path) as a,
        running_server(empty_postgres_url, tmp_path) as b,
    ):
        async with aiohttp.ClientSession() as session:
            token = await _login(session, a.url)
            assert await _status(session, b.url, token) == 200
            async with session.post(a.url + "/api/v1/revoke", data={"token": token}) as resp:
                assert resp.status == 200
            started = time.monotonic()
            elapsed = float("inf")
            for _ in range(int(PROPAGATION_LIMIT / 0.02) * 2):
                if await _status(session, b.url, token) == 401:
                    elapsed = time.monotonic() - started
                    break
                await asyncio.sleep(0.02)  # measuring propagation: the one bounded real wait
            assert elapsed < PROPAGATION_LIMIT


def _keys(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ZENML_SERVER_")}
    return subprocess.run(
        [sys.executable, "-m", "zenml_server", "keys", *args],
        env={**clean, "ZENML_SERVER_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_keys_rotate_reaches_a_running_server(tmp_path: Path) -> None:
    """`zenml-server keys rotate` beside a running server (SQLite): the old token keeps
    working, new logins use the new kid within a second, and `keys list` shows both."""
    url = f"sqlite:///{tmp_path}/keys.sqlite"
    with running_server(url, tmp_path, jwt_secret_key="") as server:
        async with aiohttp.ClientSession() as session:
            old = await _login(session, server.url)
            rotated = _keys(url, "rotate")
            assert rotated.returncode == 0, rotated.stderr
            assert "New current signing key" in rotated.stdout
            assert "Traceback" not in rotated.stderr
            new_kid = rotated.stdout.split("New current signing key: ")[1].split(" ")[0]
            assert _kid(old) != new_kid
            seen = ""
            for _ in range(int(PROPAGATION_LIMIT / 0.02) * 2):
                seen = _kid(await _login(session, server.url))
                if seen == new_kid:
                    break
                await asyncio.sleep(0.02)  # bounded: waiting for the change log poll
            assert seen == new_kid
            assert await _status(session, server.url, old) == 200
            async with session.get(server.url + "/.well-known/jwks.json") as resp:
                kids = {k["kid"] for k in (await resp.json())["keys"]}
            assert kids == {_kid(old), new_kid}
    listed = _keys(url, "list")
    assert listed.returncode == 0, listed.stderr
    assert f"{new_kid}  EdDSA  current" in listed.stdout
    assert f"{_kid(old)}  EdDSA  verifying" in listed.stdout


def test_keys_rotate_with_a_configured_secret_is_one_line(tmp_path: Path) -> None:
    """With ZENML_SERVER_JWT_SECRET_KEY set, rotation is refused with one line, exit 2."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ZENML_SERVER_")}
    result = subprocess.run(
        [sys.executable, "-m", "zenml_server", "keys", "rotate"],
        env={
            **clean,
            "ZENML_SERVER_DATABASE_URL": f"sqlite:///{tmp_path}/c.sqlite",
            "ZENML_SERVER_JWT_SECRET_KEY": "s" * 40,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "ZENML_SERVER_JWT_SECRET_KEY" in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0


def test_encrypted_keys_without_the_encryption_key_stop_the_server_in_one_line(
    tmp_path: Path,
) -> None:
    """Keys sealed with an encryption key: starting without it is one line and exit 2."""
    url = f"sqlite:///{tmp_path}/e.sqlite"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ZENML_SERVER_")}
    env = {**clean, "ZENML_SERVER_DATABASE_URL": url}
    sealed = subprocess.run(
        [sys.executable, "-m", "zenml_server", "keys", "list"],
        env={**env, "ZENML_SERVER_ENCRYPTION_KEY": "k" * 40},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert sealed.returncode == 0, sealed.stderr
    result = subprocess.run(
        [sys.executable, "-m", "zenml_server", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "ZENML_SERVER_ENCRYPTION_KEY" in result.stderr and "Traceback" not in result.stderr
