"""The wheel the image installs: it carries every file the server reads, and a server started
from it in an empty virtual environment (outside the source tree) works on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.parse
import urllib.request
import venv
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.builders import ADMIN_PASSWORD
from tests.conftest import _create_pg_database, _drop_pg_database, _pg_url, _run
from tests.deploy.files import ROOT, project_version
from tests.servers import _wait_healthy, free_port

INSTALL_TIMEOUT_SECONDS = 600
# As the compose file and the chart run it: generated signing keys, encrypted at rest.
ENCRYPTION_KEY = "an-encryption-key-of-at-least-32-characters"


@dataclass(frozen=True)
class InstalledWheel:
    wheel: Path
    bin: Path
    workdir: Path

    def env(self, database_url: str) -> dict[str, str]:
        """A clean environment: no source tree on the path, only the settings a deployment sets."""
        keep = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("ZENML_SERVER_", "PYTHON", "VIRTUAL_ENV"))
        }
        return {
            **keep,
            "ZENML_SERVER_DATABASE_URL": database_url,
            "ZENML_SERVER_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "ZENML_SERVER_ENCRYPTION_KEY": ENCRYPTION_KEY,
        }

    def run(self, *args: str, database_url: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / "zenml-server"), *args],
            cwd=self.workdir,
            env=self.env(database_url),
            capture_output=True,
            text=True,
            timeout=120,
        )


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory: pytest.TempPathFactory) -> InstalledWheel:
    """The project's wheel built as the image builds it and installed into an empty venv."""
    base = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(base), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=INSTALL_TIMEOUT_SECONDS,
    )
    (wheel,) = base.glob("zenml_server-*.whl")
    target = base / "venv"
    venv.create(target, with_pip=True)
    subprocess.run(
        [str(target / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)],
        check=True,
        capture_output=True,
        timeout=INSTALL_TIMEOUT_SECONDS,
    )
    workdir = base / "work"
    workdir.mkdir()
    return InstalledWheel(wheel, target / "bin", workdir)


@contextmanager
def _serving(installed: InstalledWheel, database_url: str) -> Iterator[str]:
    port = free_port()
    log = installed.workdir / f"server-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(installed.bin / "zenml-server"), "--host", "127.0.0.1", "--port", str(port)],
            cwd=installed.workdir,
            env=installed.env(database_url),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process, log)
        yield url
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0, log.read_text(errors="replace")[-2000:]


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 - loopback
        return resp.status, resp.read()


def _check_serves_everything(url: str) -> None:
    status, _ = _get(url + "/ready")
    assert status == 200
    status, page = _get(url + "/login")
    assert status == 200 and b"<form" in page
    status, css = _get(url + "/static/style.css")
    assert status == 200 and css
    status, document = _get(url + "/api/v1/openapi.json")
    assert status == 200 and json.loads(document)["paths"]
    form = urllib.parse.urlencode({"username": "admin", "password": ADMIN_PASSWORD}).encode()
    with urllib.request.urlopen(url + "/api/v1/login", data=form, timeout=30) as resp:  # noqa: S310
        assert json.loads(resp.read())["access_token"]


def test_wheel_contains_templates_migrations_and_openapi(installed_wheel: InstalledWheel) -> None:
    """The built wheel holds the templates, static files, SQL migrations and OpenAPI parts."""
    assert installed_wheel.wheel.name.startswith(f"zenml_server-{project_version()}-")
    names = set(zipfile.ZipFile(installed_wheel.wheel).namelist())
    for template in (ROOT / "web" / "templates").glob("*.html"):
        assert f"zenml_server/web/templates/{template.name}" in names
    assert "zenml_server/web/static/style.css" in names
    for sql in (ROOT / "zenml_server" / "storage" / "migrations").glob("*.sql"):
        assert f"zenml_server/storage/migrations/{sql.name}" in names
    for part in (ROOT / "zenml_server" / "http" / "openapi").glob("*.json"):
        assert f"zenml_server/http/openapi/{part.name}" in names


def test_installed_server_is_the_wheel_not_the_source_tree(installed_wheel: InstalledWheel) -> None:
    """The venv imports zenml_server from site-packages, so the checks here test the wheel."""
    where = subprocess.run(
        [str(installed_wheel.bin / "python"), "-c", "import zenml_server as z; print(z.__file__)"],
        cwd=installed_wheel.workdir,
        env=installed_wheel.env("sqlite:////unused.sqlite"),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert "site-packages" in where and str(ROOT) not in where


def test_installed_wheel_serves_on_sqlite(installed_wheel: InstalledWheel) -> None:
    """From the wheel alone the server starts on SQLite and serves pages, API and login."""
    database_url = f"sqlite:///{installed_wheel.workdir}/zenml-server.sqlite"
    with _serving(installed_wheel, database_url) as url:
        _check_serves_everything(url)


@pytest.mark.postgres
def test_installed_wheel_migrates_serves_and_rotates_keys_on_postgres(
    installed_wheel: InstalledWheel, postgres_url: str
) -> None:
    """From the wheel on PostgreSQL: `migrate` (the chart's hook), serving, and `keys rotate` /
    `keys list` as the README has operators run them in a replica's container."""
    name = _run(_create_pg_database())
    try:
        database_url = _pg_url(name)
        first = installed_wheel.run("migrate", database_url=database_url)
        assert first.returncode == 0 and "applied migrations" in first.stdout, first.stderr
        again = installed_wheel.run("migrate", database_url=database_url)
        assert again.returncode == 0 and "up to date" in again.stdout, again.stderr
        with _serving(installed_wheel, database_url) as url:
            _check_serves_everything(url)
            rotated = installed_wheel.run("keys", "rotate", database_url=database_url)
            assert rotated.returncode == 0, rotated.stderr
            assert "Nobody is logged out" in rotated.stdout
            listed = installed_wheel.run("keys", "list", database_url=database_url)
            assert listed.returncode == 0 and "current" in listed.stdout, listed.stderr
            _check_serves_everything(url)
    finally:
        _run(_drop_pg_database(name))
