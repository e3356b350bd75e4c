"""Paths of the deployment files and small readers the deploy tests share."""

from __future__ import annotations

import os
import re
import sys
import tomllib
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
CHART = DEPLOY / "helm" / "zenml-server"
SCHEMAS = Path(__file__).resolve().parent / "schemas"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def venv_tool(name: str) -> Path:
    """A console script installed beside this interpreter (the test extras' hadolint, ...)."""
    return Path(sys.executable).parent / name


def project_version() -> str:
    version: str = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    return version


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


_INTERPOLATION = re.compile(r"\$\{(\w+)(?::?[-?][^}]*)?\}")


def interpolate(text: str, environ: dict[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?message}`` with the given values."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in environ:
            return environ[name]
        default = match.group(0)[len(name) + 2 : -1]
        if default.startswith((":-", "-")):
            return default.split("-", 1)[1]
        raise KeyError(f"{name} must be set: {default}")

    return _INTERPOLATION.sub(value, text)
