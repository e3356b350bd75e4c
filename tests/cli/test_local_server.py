"""`zenml up` / `zenml down`: a local server in the background, and the CLI connected to it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from zenml_cli.commands.local_server import PID_FILE, is_alive

from tests.cli.conftest import Cli, one_error_line
from tests.servers import free_port

ZENML = Path(sys.executable).parent / "zenml"


def _zenml(*argv: str, config_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZENML_")}
    env["ZENML_CONFIG_PATH"] = str(config_dir)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        [ZENML, *argv], env=env, capture_output=True, text=True, check=False, timeout=60
    )


def test_up_starts_connects_and_down_stops(tmp_path: Path) -> None:
    """up starts zenml-server on SQLite and connects as a trusted device of the admin, showing
    the generated password once and storing none; down stops it and disconnects; up again
    reconnects with the stored login."""
    config_dir = tmp_path / "zenml"
    port = free_port()
    up = _zenml("up", "--port", str(port), config_dir=config_dir)
    try:
        assert up.returncode == 0, up.stderr
        assert f"Started zenml-server at http://127.0.0.1:{port}" in up.stdout
        assert "as a trusted device" in up.stdout
        password = up.stdout.split("with password: ")[1].split()[0]
        assert password not in (config_dir / "config.json").read_text()
        assert (config_dir / "local-server.sqlite").exists()
        assert (config_dir / "local-server.log").exists()
        status = _zenml("status", config_dir=config_dir)
        assert status.returncode == 0, status.stderr
        assert "User:          admin\n" in status.stdout
        again = _zenml("up", "--port", str(port), config_dir=config_dir)
        assert again.returncode == 0 and "already running" in again.stdout
        pid = int((config_dir / PID_FILE).read_text())
    finally:
        down = _zenml("down", config_dir=config_dir)
    assert down.returncode == 0, down.stderr
    assert "Stopped the local zenml-server" in down.stdout
    assert f"Disconnected from http://127.0.0.1:{port}" in down.stdout
    assert not (config_dir / PID_FILE).exists()
    assert not is_alive(pid)
    # down disconnected: status no longer points at the stopped server.
    stopped = _zenml("status", config_dir=config_dir)
    assert stopped.returncode == 1 and "Not connected" in stopped.stdout, stopped.stderr

    restarted = _zenml("up", "--port", str(port), config_dir=config_dir)
    try:
        assert restarted.returncode == 0, restarted.stderr
        assert "the login stored earlier" in restarted.stdout
        assert "password" not in restarted.stdout
        status = _zenml("status", config_dir=config_dir)
        assert "User:          admin\n" in status.stdout, status.stdout + status.stderr
    finally:
        assert _zenml("down", config_dir=config_dir).returncode == 0


def test_down_without_a_server_says_so(cli: Cli) -> None:
    """down with nothing running changes nothing and exits 0."""
    result = cli("down")
    assert (result.code, result.out.strip()) == (0, "No local zenml-server is running.")


def test_up_without_zenml_server_says_how_to_install(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """When zenml-server is not installed, up says `pip install zenml-server` and exits 1."""
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    result = cli("up", env={"PATH": str(tmp_path)})
    assert one_error_line(result)
    assert "pip install zenml-server" in result.err
