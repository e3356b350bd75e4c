"""Federation fixtures: the real OpenID provider, and a clock at real time (the provider signs
with the wall clock; the server under test still reads only its injected clock)."""

from __future__ import annotations

import time

import pytest

from tests.federation.oidc_provider import oidc_provider, oidc_provider_dir
from zenml_server.domain.clock import ManualClock

__all__ = ["oidc_provider", "oidc_provider_dir"]


@pytest.fixture
def clock() -> ManualClock:
    """The injected clock at the wall clock's whole second (tests move it by hand)."""
    return ManualClock(float(int(time.time())))
