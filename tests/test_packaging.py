"""A non-editable install (what the Docker image does) carries every file the server reads."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_contains_templates_migrations_and_openapi(tmp_path: Path) -> None:
    """The built wheel holds the templates, static files, SQL migrations and OpenAPI parts."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("zenml_server-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for template in (ROOT / "web" / "templates").glob("*.html"):
        assert f"zenml_server/web/templates/{template.name}" in names
    assert "zenml_server/web/static/style.css" in names
    for sql in (ROOT / "zenml_server" / "storage" / "migrations").glob("*.sql"):
        assert f"zenml_server/storage/migrations/{sql.name}" in names
    for part in (ROOT / "zenml_server" / "http" / "openapi").glob("*.json"):
        assert f"zenml_server/http/openapi/{part.name}" in names
