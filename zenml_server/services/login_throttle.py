"""Who may try a password now: only failed logins count, and no one can lock out another.

Three budgets of failures, each spent up front (so a burst of concurrent guesses cannot
overdraw it) and given back when the password was right:

- per (user name, client address): what one address may get wrong for one name;
- per client address: what one address may get wrong across all names (password spraying);
- per user name, from every address together: a much larger cap against a guess spread over
  many addresses. It applies only to an address that has itself failed for that name, so a
  correct password from an address that has not failed is never refused by someone else's
  failures (the admin can always log in from their own machine while ``admin`` is attacked).
"""

from __future__ import annotations

from dataclasses import dataclass

from zenml_server.services.rate_limit import RateLimits


@dataclass(frozen=True)
class LoginAttempt:
    """One password check in flight, and which budgets it reserved a failure in."""

    pair: str
    ip: str
    name: str
    counted_name: bool


class LoginThrottle:
    def __init__(self, limits: RateLimits) -> None:
        what = "failed logins"
        self._pair = limits.new(
            "password_login_per_name_and_address", burst=10, per_minute=5, what=what
        )
        self._ip = limits.new("password_login_per_address", burst=20, per_minute=20, what=what)
        self._name = limits.new("password_login_per_name", burst=200, per_minute=60, what=what)

    def begin(self, name: str, ip: str) -> LoginAttempt:
        """Reserve one failure in each budget that applies; raise RateLimited (reserving
        nothing) when one of them is spent."""
        pair = f"{ip}\x00{name}"
        has_failed = not self._pair.is_full(pair)
        self._pair.check(pair)
        self._ip.check(ip)
        if has_failed:
            self._name.check(name)
            self._name.hit(name)
        self._pair.hit(pair)
        self._ip.hit(ip)
        return LoginAttempt(pair, ip, name, counted_name=has_failed)

    def release(self, attempt: LoginAttempt) -> None:
        """The attempt did not fail (right password, or no answer from the database): give
        back what ``begin`` reserved."""
        self._pair.refund(attempt.pair)
        self._ip.refund(attempt.ip)
        if attempt.counted_name:
            self._name.refund(attempt.name)

    def failed(self, attempt: LoginAttempt) -> None:
        """The password was wrong: a first failure from this address still counts toward
        the per-name cap (without being refused by it)."""
        if not attempt.counted_name:
            self._name.spend(attempt.name)
