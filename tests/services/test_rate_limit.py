"""The token-bucket rate limiter, on an injected clock."""

from __future__ import annotations

import pytest

from zenml_server.domain.clock import ManualClock
from zenml_server.domain.errors import RateLimited
from zenml_server.services.rate_limit import RateLimiter


def test_burst_then_refuse_then_refill() -> None:
    """``burst`` attempts pass at once, the next is refused, and time refills the bucket."""
    clock = ManualClock()
    limiter = RateLimiter(clock, burst=3, per_minute=6, what="tries")
    for _ in range(3):
        limiter.hit("ip")
    with pytest.raises(RateLimited) as info:
        limiter.hit("ip")
    assert 0 < info.value.retry_after <= 10
    clock.advance(10)
    limiter.hit("ip")


def test_keys_are_independent() -> None:
    """One key's exhausted budget does not limit another key."""
    limiter = RateLimiter(ManualClock(), burst=1, per_minute=1, what="tries")
    limiter.hit("a")
    limiter.hit("b")
    with pytest.raises(RateLimited):
        limiter.hit("a")


def test_scale_multiplies_the_budget() -> None:
    """``scale`` multiplies both the burst and the refill rate."""
    clock = ManualClock()
    limiter = RateLimiter(clock, burst=2, per_minute=2, what="tries", scale=10)
    for _ in range(20):
        limiter.hit("ip")
    with pytest.raises(RateLimited):
        limiter.hit("ip")
    clock.advance(3)
    limiter.hit("ip")
