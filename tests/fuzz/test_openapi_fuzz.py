"""Schemathesis against a real running server, on both engines: every operation of
/api/v1/openapi.json with all checks, logged in as an admin. 0 server errors, 0 responses
that do not match the document, 0 undocumented status codes, 0 requests the document allows
but the server refuses (or the reverse).

Bounded: a fixed number of examples per operation and a fixed seed (the same cases every
run, so a failure reproduces); a few minutes for both engines on a 2-core machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.builders import ADMIN_PASSWORD
from tests.servers import running_server

pytestmark = pytest.mark.fuzz

MAX_EXAMPLES = 25
SEED = 20261201
RUN_BOUND_SECONDS = 900.0
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PROTECTED_ENV = "ZENML_FUZZ_PROTECTED_USERS"  # read by tests/fuzz/hooks.py


def _post_form(url: str, fields: dict[str, str]) -> dict[str, Any]:
    data = urllib.parse.urlencode(fields).encode()
    with urllib.request.urlopen(url, data=data, timeout=30) as resp:  # noqa: S310 - loopback
        body: dict[str, Any] = json.loads(resp.read())
        return body


def _get(url: str, token: str) -> dict[str, Any]:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})  # noqa: S310
    with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - loopback
        body: dict[str, Any] = json.loads(resp.read())
        return body


def _schemathesis(base: str, token: str, protected: str, report: Path) -> str:
    command = [
        str(Path(sys.executable).parent / "st"),
        f"--config-file={HERE / 'schemathesis.toml'}",
        "run",
        f"{base}/api/v1/openapi.json",
        "--checks=all",
        f"--max-examples={MAX_EXAMPLES}",
        f"--seed={SEED}",
        "--workers=1",
        "--generation-database=none",
        # Latin-1 text: non-ASCII, and every character of it is one the server's "printable"
        # rule and the document's name pattern agree on (random code points are mostly
        # unassigned, which Python does not count as printable and no regex can list).
        "--generation-codec=latin-1",
        "--request-timeout=30",
        "--no-color",
        f"--header=Authorization: Bearer {token}",
        "--report=json",
        f"--report-json-path={report}",
    ]
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        PROTECTED_ENV: protected,
    }
    done = subprocess.run(
        command,
        cwd=report.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=RUN_BOUND_SECONDS,
        check=False,
    )
    return done.stdout.decode(errors="replace")


@pytest.fixture
def fuzz_database_url(engine: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on the engine under test, for a server process to migrate."""
    if engine == "sqlite":
        return f"sqlite:///{tmp_path}/fuzz.sqlite"
    return str(request.getfixturevalue("empty_postgres_url"))


def test_openapi_document_holds_under_fuzzing(
    engine: str, fuzz_database_url: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Schemathesis finds no server error and no disagreement between the document and the
    server, on every operation, while staying logged in as an admin."""
    # Rate limits are real but would turn most of a fuzz run into documented 429s.
    with running_server(fuzz_database_url, tmp_path, rate_limit_scale="100000") as server:
        login = _post_form(
            f"{server.url}/api/v1/login", {"username": "admin", "password": ADMIN_PASSWORD}
        )
        token = str(login["access_token"])
        admin = _get(f"{server.url}/api/v1/current-user", token)
        report_path = tmp_path / "schemathesis.json"
        output = _schemathesis(server.url, token, f"admin,{admin['id']}", report_path)
        log = server.log.read_text(errors="replace")
    report = json.loads(report_path.read_text())
    summary = (
        f"{engine}: {report['operations']['tested']} operations, "
        f"{report['test_cases']['generated']} examples, "
        f"{report['running_time']:.0f} s"
    )
    print(summary)
    request.node.user_properties.append(("fuzz", summary))
    assert report["failures"] == [], output[-20000:]
    assert report["errors"] == [], output[-20000:]
    assert report["warnings"]["missing_auth"] == [], output[-5000:]
    assert report["operations"]["tested"] == report["operations"]["total"], output[-5000:]
    assert report["exit_code"] == 0, output[-20000:]
    assert "Traceback" not in log
