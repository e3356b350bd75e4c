"""deploy/nginx.conf running in front of real replicas, in a private network namespace the test
makes (only its own loopback), where nginx and the replicas use port 8080 as in compose.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.files import IN_CI, ROOT
from tests.deploy.test_compose import nginx_or_skip

RUN_TIMEOUT_SECONDS = 300


def _run_phase(phase: str, workdir: Path) -> dict[str, Any]:
    nginx_or_skip()
    if shutil.which("ip") is None:
        if IN_CI:
            pytest.fail("needs iproute2's ip")
        pytest.skip("needs iproute2's ip")
    env = {**os.environ, "PATH": f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin"}
    helper = [sys.executable, "-m", "tests.deploy.nginx_netns", phase, str(workdir)]
    result = subprocess.run(
        ["unshare", "--net", "--mount", *helper],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_SECONDS,
    )
    logs = "".join(f"\n--- {log.name}\n{log.read_text()[-2000:]}" for log in workdir.glob("*.log"))
    assert result.returncode == 0, result.stderr[-3000:] + logs
    out: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return out


def test_a_client_cannot_choose_its_address_through_nginx(tmp_path: Path) -> None:
    """Through nginx, a spoofed X-Forwarded-For is not believed: devices get the real address;
    nginx answers /metrics itself with 404 and spreads requests over both replicas."""
    seen = _run_phase("forwarded", tmp_path)
    assert seen["statuses"] == [200, 200, 200, 200]
    assert seen["addresses"] == ["127.0.0.1"] * 4
    assert seen["metrics"] == 404
    assert seen["health"] == [200, 200, 200, 200]


def test_nginx_retries_idempotent_requests_only(tmp_path: Path) -> None:
    """A replica answering 503: GETs succeed on the other replica; a POST it took is not resent."""
    seen = _run_phase("retries", tmp_path)
    assert seen["get_statuses"] == [200, 200, 200, 200]
    assert seen["gets_at_failing"] >= 1  # one GET reached it and was retried elsewhere
    assert sorted(seen["post_statuses"]) == [200, 503]
    assert seen["posts_at_failing"] == 1
    assert seen["devices"] == 1  # the POST answered 503 never reached the other replica
