"""The ``zenml-server`` command as a user runs it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from tests.servers import running_server
from zenml_server.http.context import password_box


def _run(
    *args: str, env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ZENML_SERVER_")}
    return subprocess.run(
        [sys.executable, "-m", "zenml_server", *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        input=stdin,
        timeout=60,
        check=False,
    )


def test_bad_setting_is_one_line_and_exit_2() -> None:
    """A bad variable stops start-up with one line naming it, no traceback."""
    result = _run(env={"ZENML_SERVER_PORT": "eighty"})
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "ZENML_SERVER_PORT" in result.stderr and "Traceback" not in result.stderr


def test_migrate_applies_once(tmp_path: Path) -> None:
    """``zenml-server migrate`` applies the migrations, then reports the database up to date."""
    env = {"ZENML_SERVER_DATABASE_URL": f"sqlite:///{tmp_path}/m.sqlite"}
    first = _run("migrate", env=env)
    assert first.returncode == 0 and "applied migrations" in first.stdout
    second = _run("migrate", env=env)
    assert second.returncode == 0 and "up to date" in second.stdout


def test_unreachable_database_is_one_line(tmp_path: Path) -> None:
    """A PostgreSQL URL nobody answers gives one readable line and exit 1."""
    result = _run(
        "migrate", env={"ZENML_SERVER_DATABASE_URL": "postgresql://nobody:pw@127.0.0.1:1/x"}
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "pw@" not in result.stderr


def test_server_prints_url_and_generated_password_once(tmp_path: Path) -> None:
    """First start prints where to log in and the generated admin password; restart does not."""
    url = f"sqlite:///{tmp_path}/s.sqlite"
    with running_server(url, tmp_path, admin_password="") as server:
        with urllib.request.urlopen(server.url + "/api/v1/info") as resp:  # noqa: S310
            assert resp.status == 200
    first = server.log.read_text()
    assert "generated password" in first and f"{server.url}/login" in first
    with running_server(url, tmp_path, admin_password="") as again:
        pass
    assert "generated password" not in again.log.read_text()


def test_generated_password_stands_out_in_a_box() -> None:
    """The first-start password is framed on its own line, with the command to change it."""
    box = password_box("admin", "s3cret-PASSWORD")
    lines = box.strip().splitlines()
    assert lines[0] == lines[-1] and set(lines[0]) == {"+", "-"}
    assert all(line.startswith("| ") and line.endswith(" |") for line in lines[1:-1])
    assert len({len(line) for line in lines}) == 1
    assert any(line.strip("| ").strip() == "s3cret-PASSWORD" for line in lines)
    assert "zenml user change-password" in box and "/account/password" in box
    assert box.isascii()


def test_make_run_is_quiet_on_success() -> None:
    """scripts/run.sh shows no setup output when setup succeeds: two lines, then the server's."""
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [str(root / "scripts" / "run.sh"), "--help"],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:2] == [
        "Setting up .venv (the first time takes a minute)...",
        "Starting zenml-server in the foreground; stop it with Ctrl-C.",
    ]
    assert "usage: zenml-server" in result.stdout
    assert "warning" not in (result.stdout + result.stderr).lower()


def test_reset_password_prints_a_generated_one_once(tmp_path: Path) -> None:
    """`zenml-server reset-password admin` prints a new password that then logs in; the old
    one no longer does; an unknown user is one line and exit 1."""
    url = f"sqlite:///{tmp_path}/r.sqlite"
    env = {"ZENML_SERVER_DATABASE_URL": url, "ZENML_SERVER_ADMIN_PASSWORD": "old-admin-pass"}
    with running_server(url, tmp_path, admin_password="old-admin-pass"):
        pass
    result = _run("reset-password", "admin", env=env)
    assert result.returncode == 0, result.stderr
    match = re.search(r"\(shown once\): (\S+)", result.stdout)
    assert match is not None, result.stdout
    with running_server(url, tmp_path, admin_password="old-admin-pass") as server:
        assert _password_works(server.url, "admin", match.group(1))
        assert not _password_works(server.url, "admin", "old-admin-pass")
    unknown = _run("reset-password", "nobody", env=env)
    assert unknown.returncode == 1 and unknown.stderr.count("\n") == 1
    assert "Traceback" not in unknown.stderr


def test_reset_password_reads_stdin(tmp_path: Path) -> None:
    """`reset-password USER --password-stdin` sets the password read from standard input and
    prints no password."""
    url = f"sqlite:///{tmp_path}/r.sqlite"
    env = {"ZENML_SERVER_DATABASE_URL": url}
    with running_server(url, tmp_path, admin_password="old-admin-pass"):
        pass
    result = _run("reset-password", "admin", "--password-stdin", env=env, stdin="chosen-pass-1\n")
    assert result.returncode == 0, result.stderr
    assert "chosen-pass-1" not in result.stdout + result.stderr
    with running_server(url, tmp_path, admin_password="old-admin-pass") as server:
        assert _password_works(server.url, "admin", "chosen-pass-1")
    short = _run("reset-password", "admin", "--password-stdin", env=env, stdin="short\n")
    assert short.returncode == 2 and "at least" in short.stderr


def _password_works(base: str, name: str, password: str) -> bool:
    data = urllib.parse.urlencode({"username": name, "password": password}).encode()
    try:
        with urllib.request.urlopen(base + "/api/v1/login", data=data) as resp:  # noqa: S310
            return bool(resp.status == 200)
    except urllib.error.HTTPError:
        return False
