"""The real OpenID provider (node-oidc-provider) as a test peer: installed by
scripts/oidc-provider.sh into ~/.cache, started on a free loopback port by provider/provider.mjs.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "federation" / "provider" / "provider.mjs"
START_TIMEOUT_SECONDS = 30.0
# The audience CI tokens are asked for (a resource indicator at the provider).
AUDIENCE = "https://zenml.example.com"
SSO_CLIENT_ID = "zenml-sso"
SSO_CLIENT_SECRET = "sso-secret"


class ProviderMissing(Exception):
    """Node or npm is not installed, or the provider could not be installed."""


def install() -> Path:
    """Install (once, cached) the pinned provider; return its directory."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise ProviderMissing("node and npm are needed for the OpenID provider tests")
    result = subprocess.run(
        [str(ROOT / "scripts" / "oidc-provider.sh")],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        raise ProviderMissing(f"installing oidc-provider failed: {result.stderr[-2000:]}")
    return Path(result.stdout.strip().splitlines()[-1])


@dataclass(frozen=True)
class OidcProvider:
    issuer: str
    process: subprocess.Popen[str]

    def ci_token(self, client: str = "ci-main", audience: str = AUDIENCE) -> str:
        """A signed JWT for a CI workload (client credentials with a resource indicator)."""
        form = urllib.parse.urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": client,
                "client_secret": "ci-secret",
                "resource": audience,
                "scope": "ci",
            }
        ).encode()
        with urllib.request.urlopen(self.issuer + "/token", data=form, timeout=30) as resp:  # noqa: S310 - loopback
            token: str = json.loads(resp.read())["access_token"]
        return token


@contextmanager
def running_provider(
    directory: Path, log_dir: Path, redirect_uris: Sequence[str] = ()
) -> Iterator[OidcProvider]:
    """Run the provider on a free port until the block ends."""
    port = free_port()
    env = {
        **os.environ,
        "OIDC_PROVIDER_DIR": str(directory),
        "SSO_REDIRECT_URIS": ",".join(redirect_uris),
    }
    log = (log_dir / f"oidc-provider-{port}.log").open("w")
    process = subprocess.Popen(
        ["node", str(SCRIPT), str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    try:
        issuer = _wait_ready(process)
        yield OidcProvider(issuer, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
        log.close()


def _wait_ready(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.5)
        if ready:
            line = process.stdout.readline()
            if line.startswith("ready "):
                return line.split(" ", 1)[1].strip()
            if not line and process.poll() is not None:
                break
        elif process.poll() is not None:
            break
    raise RuntimeError("the OpenID provider did not start (see its log in the test's tmp dir)")


@pytest.fixture(scope="session")
def oidc_provider_dir() -> Path:
    """The installed provider; missing node/npm skips, or fails in CI."""
    try:
        return install()
    except ProviderMissing as exc:
        if IN_CI:
            pytest.fail(f"the OpenID provider is required in CI: {exc}")
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def oidc_provider(
    oidc_provider_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OidcProvider]:
    """One real provider for the session's exchange tests."""
    with running_provider(oidc_provider_dir, tmp_path_factory.mktemp("oidc")) as provider:
        yield provider
