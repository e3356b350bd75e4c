"""LoginThrottle: only failures count, and nobody's failures refuse another address."""

from __future__ import annotations

import pytest

from zenml_server.domain.clock import ManualClock
from zenml_server.domain.errors import RateLimited
from zenml_server.services.login_throttle import LoginThrottle
from zenml_server.services.rate_limit import RateLimits


def test_concurrent_guesses_cannot_overdraw_the_budget() -> None:
    """Attempts in flight reserve a failure each: an 11th concurrent guess from one address
    is refused before any password is checked."""
    throttle = LoginThrottle(RateLimits(ManualClock()))
    for _ in range(10):
        throttle.begin("admin", "203.0.113.1")
    with pytest.raises(RateLimited):
        throttle.begin("admin", "203.0.113.1")


def test_right_passwords_give_their_reservation_back() -> None:
    """Released attempts (right password, or no answer) never add up to a refusal."""
    throttle = LoginThrottle(RateLimits(ManualClock()))
    for _ in range(1000):
        throttle.release(throttle.begin("admin", "198.51.100.7"))


def test_per_name_cap_spares_addresses_that_have_not_failed() -> None:
    """Once failures from many addresses spend the per-name cap, an address that has failed
    is refused for that name and a fresh one is not."""
    throttle = LoginThrottle(RateLimits(ManualClock()))
    for n in range(200):
        throttle.failed(throttle.begin("admin", f"192.0.2.{n % 250}-{n}"))
    throttle.failed(throttle.begin("admin", "192.0.2.1"))
    with pytest.raises(RateLimited):
        throttle.begin("admin", "192.0.2.1")
    throttle.release(throttle.begin("admin", "198.51.100.7"))
    throttle.release(throttle.begin("someone-else", "192.0.2.1"))


def test_an_address_spraying_names_is_limited() -> None:
    """One address failing across many names runs out of its own per-address budget."""
    throttle = LoginThrottle(RateLimits(ManualClock()))
    for n in range(20):
        throttle.failed(throttle.begin(f"user{n}", "203.0.113.9"))
    with pytest.raises(RateLimited):
        throttle.begin("user-new", "203.0.113.9")
    throttle.release(throttle.begin("user-new", "203.0.113.10"))
