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


def test_a_flood_of_new_keys_does_not_reset_a_limited_client() -> None:
    """Past the key bound the idlest buckets go, never a client that keeps being limited."""
    clock = ManualClock()
    limiter = RateLimiter(clock, burst=2, per_minute=1, what="tries")
    limiter.hit("real")
    limiter.hit("real")
    for n in range(110_000):
        limiter.hit(f"flood-{n}")
        if n % 500 == 0:
            # The real client keeps trying (and keeps being refused) during the flood.
            with pytest.raises(RateLimited):
                limiter.hit("real")
    assert len(limiter) <= 10_000
    with pytest.raises(RateLimited):
        limiter.hit("real")


def test_the_key_bound_evicts_the_least_recently_used() -> None:
    """A new key past the bound forgets the bucket used least recently, and only that one."""
    limiter = RateLimiter(ManualClock(), burst=1, per_minute=1, what="tries", max_keys=3)
    for key in ("a", "b", "c"):
        limiter.hit(key)
    with pytest.raises(RateLimited):
        limiter.hit("a")  # "a" is now the most recently used
    limiter.hit("d")  # evicts "b"
    assert len(limiter) == 3
    limiter.hit("b")  # a fresh bucket: "b" was forgotten
    with pytest.raises(RateLimited):
        limiter.hit("a")
    with pytest.raises(RateLimited):
        limiter.hit("d")


def test_check_spend_and_refund() -> None:
    """check spends nothing, spend counts without refusing, refund gives one back."""
    limiter = RateLimiter(ManualClock(), burst=2, per_minute=1, what="tries")
    limiter.check("k")
    assert limiter.is_full("k")
    limiter.spend("k")
    assert not limiter.is_full("k")
    limiter.spend("k")
    limiter.spend("k")
    with pytest.raises(RateLimited):
        limiter.check("k")
    limiter.refund("k")
    limiter.check("k")
