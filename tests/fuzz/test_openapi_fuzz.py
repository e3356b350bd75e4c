"""Schemathesis against a real running server, on both engines: every operation of
/api/v1/openapi.json with all checks, logged in as an admin. 0 server errors, 0 responses
that do not match the document, 0 undocumented status codes, 0 requests the document allows
but the server refuses (or the reverse).

Real objects are made first (tests/fuzz/seeds.py) and the hooks point most calls with an id
in their path at them (tests/fuzz/hooks.py), so these operations run their handlers instead of
answering 404 to an id that names nothing: every one of them must answer 2xx at least once.

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
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from tests.builders import ADMIN_PASSWORD
from tests.fuzz.channel import (
    BASE_URL_ENV,
    BY_CODE,
    PROTECTED_ENV,
    RECORD_ENV,
    SEEDS_ENV,
    TOKEN_ENV,
)
from tests.fuzz.seeds import Seeder
from tests.servers import running_server

pytestmark = pytest.mark.fuzz

MAX_EXAMPLES = 25
SEED = 20261201
RUN_BOUND_SECONDS = 900.0
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


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


def _schemathesis(base: str, token: str, hook_env: dict[str, str], report: Path) -> str:
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
        BASE_URL_ENV: base,
        TOKEN_ENV: token,
        **hook_env,
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


def _documented(document: dict[str, Any]) -> set[str]:
    """Every operation of the document, as "METHOD /path"."""
    return {
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method in operations
        if method != "parameters"
    }


def _on_objects(operations: set[str]) -> set[str]:
    """The operations that name an object: by an id in their path, or by a device's code."""
    by_code = {f"{method} {path}" for method, path in BY_CODE}
    return {op for op in operations if "{" in op or op in by_code}


def _status_classes(record: Path) -> dict[str, Counter[str]]:
    """Per operation, how many answers of each status class (and how many were steered)."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for line in record.read_text().splitlines():
        answer = json.loads(line)
        by_class = counts[answer["operation"]]
        by_class[f"{answer['status'] // 100}xx"] += 1
        by_class["404"] += answer["status"] == 404
        by_class["steered"] += answer["steered"]
    return counts


def _table(counts: dict[str, Counter[str]]) -> str:
    columns = ("2xx", "4xx", "404", "5xx", "steered")
    lines = [f"{'operation':72} " + " ".join(f"{c:>7}" for c in columns)]
    for operation in sorted(counts, key=lambda op: op.split(" ", 1)[::-1]):
        row = " ".join(f"{counts[operation][c]:>7}" for c in columns)
        lines.append(f"{operation:72} {row}")
    return "\n".join(lines)


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
        documented = _documented(_get(f"{server.url}/api/v1/openapi.json", token))
        report_path = tmp_path / "schemathesis.json"
        record = tmp_path / "answers.jsonl"
        hook_env = {
            PROTECTED_ENV: f"admin,{admin['id']}",
            SEEDS_ENV: Seeder(server.url, token).seeds().to_json(),
            RECORD_ENV: str(record),
        }
        output = _schemathesis(server.url, token, hook_env, report_path)
        log = server.log.read_text(errors="replace")
    report = json.loads(report_path.read_text())
    # Schemathesis also tries methods the document does not list (405): not counted here.
    counts = {op: by_class for op, by_class in _status_classes(record).items() if op in documented}
    summary = (
        f"{engine}: {report['operations']['tested']} operations, "
        f"{report['test_cases']['generated']} examples, "
        f"{sum(sum(by_class.values()) for by_class in counts.values())} requests, "
        f"{report['running_time']:.0f} s"
    )
    print(summary)
    print(_table(counts))
    request.node.user_properties.append(("fuzz", summary))
    request.node.user_properties.append(("fuzz_statuses", _table(counts)))
    on_objects = _on_objects(documented)
    never_found = sorted(op for op in on_objects if counts.get(op, Counter())["2xx"] == 0)
    assert never_found == [], f"never answered 2xx: {never_found}\n{_table(counts)}"
    assert report["failures"] == [], output[-20000:]
    assert report["errors"] == [], output[-20000:]
    assert report["warnings"]["missing_auth"] == [], output[-5000:]
    assert report["operations"]["tested"] == report["operations"]["total"], output[-5000:]
    assert report["exit_code"] == 0, output[-20000:]
    assert "Traceback" not in log
