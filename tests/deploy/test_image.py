"""deploy/Dockerfile and .dockerignore: lint-clean, pinned, small, non-root, labelled."""

from __future__ import annotations

import fnmatch
import re
import subprocess

from tests.deploy.files import CHART, DEPLOY, ROOT, load_yaml, project_version, venv_tool

DOCKERFILE = DEPLOY / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def _final_stage() -> list[tuple[str, str]]:
    instructions = _instructions()
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


def _arg_default(name: str) -> str:
    for keyword, rest in _instructions():
        if keyword == "ARG" and rest.startswith(f"{name}="):
            return rest.split("=", 1)[1].strip('"')
    raise AssertionError(f"no ARG {name}")


def test_dockerfile_is_hadolint_clean() -> None:
    """hadolint (pinned in the test extras) finds nothing, down to style level."""
    result = subprocess.run(
        [str(venv_tool("hadolint")), "--no-color", "--failure-threshold", "style", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for line in DOCKERFILE.read_text().splitlines():
        if "hadolint ignore=" in line:
            assert re.search(r"ignore=[\w,]+\s+\S", line), f"disabled rule without a reason: {line}"


def test_base_image_is_pinned_to_a_patch_release() -> None:
    """Both stages start from one base image pinned to an exact Python patch release."""
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+", _arg_default("PYTHON_IMAGE"))
    froms = [rest for keyword, rest in _instructions() if keyword == "FROM"]
    assert froms == ["${PYTHON_IMAGE} AS build", "${PYTHON_IMAGE}"]


def test_final_stage_is_non_root_without_build_tools_or_pip_cache() -> None:
    """The final stage runs as a numeric non-root user, keeps no pip cache, installs no tools."""
    stage = _final_stage()
    users = [rest for keyword, rest in stage if keyword == "USER"]
    assert users and all(re.fullmatch(r"[1-9]\d*:[1-9]\d*", user) for user in users)
    env = " ".join(rest for keyword, rest in stage if keyword == "ENV")
    assert "PIP_NO_CACHE_DIR=1" in env
    runs = " ".join(rest for keyword, rest in stage if keyword == "RUN")
    for tool in ("apt-get", "apk", "gcc", "build-essential", "git ", "curl"):
        assert tool not in runs
    assert not [rest for keyword, rest in stage if keyword in ("COPY", "ADD")], "wheels stay out"
    assert "--no-index" in runs


def test_stops_on_sigterm_and_carries_the_oci_labels() -> None:
    """STOPSIGNAL is SIGTERM and the OCI source, version and licence labels are set."""
    stage = _final_stage()
    assert ("STOPSIGNAL", "SIGTERM") in stage
    labels = " ".join(rest for keyword, rest in stage if keyword == "LABEL")
    for label in ("source", "version", "licenses", "title"):
        assert f"org.opencontainers.image.{label}=" in labels
    assert 'org.opencontainers.image.licenses="Apache-2.0"' in labels


def test_one_version_everywhere() -> None:
    """The image, the chart and the package carry one version number."""
    version = project_version()
    assert _arg_default("VERSION") == version
    chart = load_yaml(CHART / "Chart.yaml")
    assert chart["appVersion"] == version


def test_dockerignore_keeps_tests_bench_venv_and_git_out_but_not_the_sources() -> None:
    """The build context leaves out tests, bench, .venv and .git, and keeps what COPY needs."""
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def ignored(path: str) -> bool:
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        return any(
            fnmatch.fnmatch(prefix, pattern.removeprefix("**/"))
            or fnmatch.fnmatch(prefix.rsplit("/", 1)[-1], pattern.removeprefix("**/"))
            for pattern in patterns
            for prefix in prefixes
        )

    for path in ("tests/conftest.py", "bench/__main__.py", ".venv/bin/python", ".git/HEAD"):
        assert ignored(path), path
    copied = [
        source
        for keyword, rest in _instructions()
        if keyword == "COPY"
        for source in rest.split()[:-1]
        if not source.startswith("--")
    ]
    assert copied
    for source in copied:
        assert (ROOT / source).exists(), source
        assert not ignored(source), source
    for source in ("zenml_server/main.py", "web/templates", "zenml_server/storage/migrations"):
        assert not ignored(source), source
