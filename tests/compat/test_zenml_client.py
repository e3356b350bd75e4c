"""The real ZenML client (PyPI zenml==0.98.0) logs in to our server through its device flow.

The client lives in a cached virtual environment under ``~/.cache/zenml-server`` (built on
first use with ``pip install zenml==0.98.0``; ``ZENML_COMPAT_VENV`` names another place); it
runs in a subprocess against the real server on a free
port, and the test approves the device through our API when the client asks.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.builders import ADMIN_PASSWORD
from tests.servers import serving_app

pytestmark = pytest.mark.compat
ROOT = Path(__file__).resolve().parents[2]
# Outside the clone, so every clone and CI run on this machine reuses the (large) install.
VENV = Path(
    os.environ.get(
        "ZENML_COMPAT_VENV", Path.home() / ".cache" / "zenml-server" / "compat-venv-zenml-0.98.0"
    )
)
SCRIPT = Path(__file__).with_name("zenml_login.py")
ZENML = "zenml==0.98.0"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"the compat venv is required in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def zenml_python() -> Path:
    """The Python of a venv holding zenml==0.98.0, built once and kept."""
    python = VENV / "bin" / "python"
    check = [str(python), "-c", "import zenml, sys; sys.exit(zenml.__version__ != '0.98.0')"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    try:
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, capture_output=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", ZENML],
            check=True,
            capture_output=True,
            timeout=1800,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        _unavailable(f"cannot build {VENV} with {ZENML}: {exc}")
    if subprocess.run(check, capture_output=True).returncode != 0:
        _unavailable(f"{VENV} does not import {ZENML}")
    return python


@pytest.fixture
async def server_url(tmp_path: Path) -> AsyncIterator[str]:
    async with serving_app(
        f"sqlite:///{tmp_path}/server.sqlite", device_auth_polling_interval=1
    ) as url:
        yield url


async def _approve(base: str, verify_url: str) -> str:
    """Approve the device of ``verify_url`` as the admin, through our API; its id."""
    match = re.search(r"device_id=([0-9a-f-]+)&user_code=([A-Z-]+)", verify_url)
    assert match is not None, verify_url
    device_id, user_code = match.groups()
    async with aiohttp.ClientSession() as http:
        resp = await http.post(
            f"{base}/api/v1/login", data={"username": "admin", "password": ADMIN_PASSWORD}
        )
        token = (await resp.json())["access_token"]
        resp = await http.put(
            f"{base}/api/v1/devices/{device_id}/verify",
            json={"user_code": user_code, "trusted_device": False},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert resp.status == 200, await resp.text()
    return device_id


async def _login_once(zenml_python: Path, server_url: str, env: dict[str, str]) -> tuple[str, str]:
    """Run the client's web_login once, approving when asked; (expires_in, device_id)."""
    proc = await asyncio.create_subprocess_exec(
        str(zenml_python),
        str(SCRIPT),
        server_url,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    approved = None
    token_line = None
    try:
        async with asyncio.timeout(180):
            async for raw in proc.stdout:
                line = raw.decode().strip()
                if line.startswith("VERIFY "):
                    approved = await _approve(server_url, line.removeprefix("VERIFY "))
                elif line.startswith("TOKEN "):
                    token_line = line
            await proc.wait()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    stderr = (await proc.stderr.read()).decode()
    assert proc.returncode == 0, stderr[-3000:]
    assert token_line is not None, stderr[-3000:]
    _, expires_in, device_id = token_line.split()
    assert device_id == approved
    return expires_in, device_id


async def test_real_zenml_client_logs_in(
    zenml_python: Path, server_url: str, tmp_path: Path
) -> None:
    """zenml's web_login gets a 24-hour token bound to the device we approved; logging in
    again (the client then sends its old device_id) makes a new device."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "ZENML_CONFIG_PATH": str(tmp_path / "zenml-config"),
        "ZENML_ANALYTICS_OPT_IN": "false",
        "ZENML_ENABLE_RICH_TRACEBACK": "false",
        "BROWSER": "true",
    }
    expires_in, first = await _login_once(zenml_python, server_url, env)
    assert expires_in == "86400"
    expires_in, second = await _login_once(zenml_python, server_url, env)
    assert expires_in == "86400" and second != first
