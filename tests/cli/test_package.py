"""The CLI package stays thin: standard library only, never the server."""

from __future__ import annotations

import ast
import sys
import tomllib
from pathlib import Path

CLI_ROOT = Path(__file__).resolve().parents[2] / "cli"
SOURCES = sorted((CLI_ROOT / "zenml_cli").rglob("*.py"))


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_sources_are_found() -> None:
    """The scan below looks at the real package (a wrong path would make it vacuous)."""
    assert CLI_ROOT / "zenml_cli" / "main.py" in SOURCES
    assert len(SOURCES) >= 10


def test_cli_never_imports_the_server() -> None:
    """No module under cli/ imports zenml_server, not even lazily inside a function."""
    offenders = [
        f"{path.relative_to(CLI_ROOT)}: {name}"
        for path in SOURCES
        for name in _imported_modules(path)
        if name == "zenml_server" or name.startswith("zenml_server.")
    ]
    assert offenders == []


# The one optional import, made only where an ImportError is caught (the `qr` extra).
OPTIONAL = {"qr.py": {"segno"}}


def test_cli_imports_only_the_standard_library() -> None:
    """Every import in cli/ is the standard library or zenml_cli itself (and the optional
    segno, only in qr.py)."""
    offenders = [
        f"{path.relative_to(CLI_ROOT)}: {name}"
        for path in SOURCES
        for name in _imported_modules(path)
        if name.split(".")[0]
        not in sys.stdlib_module_names
        | {"zenml_cli", "__future__"}
        | OPTIONAL.get(path.name, set())
    ]
    assert offenders == []
    assert "except ImportError" in (CLI_ROOT / "zenml_cli" / "qr.py").read_text()


def test_package_metadata() -> None:
    """cli/pyproject.toml: zenml-cli 0.1.0, no runtime dependencies, the `zenml` script."""
    project = tomllib.loads((CLI_ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == "zenml-cli"
    assert project["version"] == "0.1.0"
    assert project["dependencies"] == []
    assert project["scripts"] == {"zenml": "zenml_cli.main:main"}
