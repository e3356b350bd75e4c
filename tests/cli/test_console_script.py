"""The installed `zenml` console script, run as a real process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.cli.conftest import Server
from tests.servers import free_port

ZENML = Path(sys.executable).parent / "zenml"


def _env(config_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZENML_")}
    env["ZENML_CONFIG_PATH"] = str(config_dir)
    return env


def test_console_script_reports_version_and_status(tmp_path: Path) -> None:
    """`zenml --version` runs as a process and exits 0; `zenml status` with nothing stored
    says so and exits 1."""
    version = subprocess.run(
        [ZENML, "--version"], env=_env(tmp_path), capture_output=True, text=True, check=False
    )
    assert (version.returncode, version.stdout.strip()) == (0, "zenml-cli 0.1.0")
    status = subprocess.run(
        [ZENML, "status"], env=_env(tmp_path), capture_output=True, text=True, check=False
    )
    assert status.returncode == 1 and "Not connected" in status.stdout


def test_console_script_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    """Connection refused from a real process: one Error line, exit 1, no traceback."""
    url = f"http://127.0.0.1:{free_port()}"
    result = subprocess.run(
        [ZENML, "connect", "--url", url, "--api-key", "k"],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert (
        result.stderr.startswith("Error: cannot reach the server")
        and "Traceback" not in result.stderr
    )
    assert result.stderr.count("\n") == 1


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_while_waiting_for_approval_aborts(tmp_path: Path, server: Server) -> None:
    """Ctrl-C during the device-flow wait prints 'Aborted.' and exits 130."""
    process = subprocess.Popen(
        [ZENML, "connect", "--url", server.url, "--no-browser"],
        env=_env(tmp_path),
        # A shell without job control starts background jobs with SIGINT ignored, and the
        # child would inherit that (Python then never raises KeyboardInterrupt): reset it.
        preexec_fn=_default_sigint,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    try:
        for line in process.stdout:
            if line.startswith("Waiting for approval"):
                break
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130
    assert stderr == "Aborted.\n"
