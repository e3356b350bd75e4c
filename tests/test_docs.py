"""The README and the docs stand on their own in a clone: every link stays in the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def _documents() -> list[Path]:
    return [ROOT / "README.md", ROOT / "cli" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_links_stay_inside_the_repository() -> None:
    """No README or docs page links to a file outside the repository or to a missing file."""
    broken = []
    for document in _documents():
        for target in _LINK.findall(document.read_text(encoding="utf-8")):
            if target.startswith(("http://", "https://", "#", "mailto:")):
                continue
            path = (document.parent / target.split("#")[0]).resolve()
            if not path.is_relative_to(ROOT) or not path.exists():
                broken.append(f"{document.relative_to(ROOT)}: {target}")
    assert broken == []


def test_readme_points_to_the_user_guide() -> None:
    """The README links the user's journey page, which shows the seed page's commands."""
    assert "(docs/user-guide.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
    guide = (ROOT / "docs" / "user-guide.md").read_text(encoding="utf-8")
    for command in (
        "zenml connect --url",
        "zenml authorized-device list",
        "zenml authorized-device lock",
        "zenml service-account create --name",
        "ZENML_STORE_API_KEY",
        "rotate default --retain 60",
    ):
        assert command in guide, command


def test_readme_does_not_say_make_run_listens_everywhere() -> None:
    """`make run` listens on 127.0.0.1; the README says so and how to stop it."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "same as make run" not in readme
    assert "127.0.0.1:8080" in readme and "Ctrl-C stops it" in readme
