"""Federation fixtures: the real OpenID provider, and a clock at real time (the provider signs
with the wall clock; the server under test still reads only its injected clock)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tests.federation.oidc_provider import OidcProvider, ProviderMissing, install, running_provider
from zenml_server.domain.clock import ManualClock


@pytest.fixture
def clock() -> ManualClock:
    """The injected clock, starting at the wall clock's time (tests move it by hand)."""
    return ManualClock(float(int(time.time())))


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
