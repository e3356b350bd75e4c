"""Token-bucket rate limits on everything a stranger can guess or flood.

Kept in memory per process: with N replicas an attacker gets at most N times the budget,
which stays far from what guessing a 256-bit code or a 34-bit user code with locks needs.

Memory is bounded per limiter (``max_keys``). When a new key would pass the bound, the bucket
used least recently goes (it is either refilled, so forgetting it changes nothing, or the
idlest of a flood); the limiter is never cleared as a whole, so a flood of new keys cannot
reset the budget of a client that keeps being limited.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from zenml_server.domain.clock import Clock
from zenml_server.domain.errors import RateLimited

DEFAULT_MAX_KEYS = 10_000


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Allow ``burst`` attempts at once per key, refilled at ``per_minute`` a minute."""

    def __init__(
        self,
        clock: Clock,
        *,
        burst: int,
        per_minute: float,
        what: str,
        scale: float = 1.0,
        max_keys: int = DEFAULT_MAX_KEYS,
    ) -> None:
        self._clock = clock
        self._burst = float(burst) * scale
        self._rate = per_minute * scale / 60.0
        self._what = what
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def hit(self, key: str) -> None:
        """Spend one attempt for ``key``; raise RateLimited (spending nothing) when none is
        left."""
        bucket = self._bucket(key, create=True)
        assert bucket is not None
        if bucket.tokens < 1.0:
            raise self._refusal(bucket)
        bucket.tokens -= 1.0

    def check(self, key: str) -> None:
        """Raise RateLimited when ``key`` has no attempt left; spend nothing."""
        bucket = self._bucket(key, create=False)
        if bucket is not None and bucket.tokens < 1.0:
            raise self._refusal(bucket)

    def spend(self, key: str) -> None:
        """Count one attempt for ``key`` without refusing it (the budget stops at empty)."""
        bucket = self._bucket(key, create=True)
        assert bucket is not None
        bucket.tokens = max(0.0, bucket.tokens - 1.0)

    def refund(self, key: str) -> None:
        """Give back one attempt spent by ``hit`` that turned out not to count."""
        bucket = self._bucket(key, create=False)
        if bucket is not None:
            bucket.tokens = min(self._burst, bucket.tokens + 1.0)

    def is_full(self, key: str) -> bool:
        """True while ``key`` has spent nothing that has not refilled since."""
        bucket = self._bucket(key, create=False)
        return bucket is None or bucket.tokens >= self._burst

    def _bucket(self, key: str, *, create: bool) -> _Bucket | None:
        now = self._clock.now()
        bucket = self._buckets.get(key)
        if bucket is None:
            if not create:
                return None
            while len(self._buckets) >= self._max_keys:
                self._buckets.popitem(last=False)
            bucket = self._buckets[key] = _Bucket(self._burst, now)
            return bucket
        self._buckets.move_to_end(key)
        bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)
        bucket.updated = now
        return bucket

    def _refusal(self, bucket: _Bucket) -> RateLimited:
        retry_after = (1.0 - bucket.tokens) / self._rate
        return RateLimited(f"too many {self._what}; try again later", retry_after)


class RateLimits:
    """Every rate limit of one process, by name, on one clock and scale. Services make their
    limiters here (``new``), so /metrics sees every one of them: how many keys each holds
    (a flood shows as limits at their key bound)."""

    def __init__(self, clock: Clock, *, scale: float = 1.0) -> None:
        self._clock = clock
        self._scale = scale
        self._limits: dict[str, RateLimiter] = {}

    def new(self, name: str, *, burst: int, per_minute: float, what: str) -> RateLimiter:
        """A limiter of ``burst`` attempts refilled at ``per_minute`` (both times the
        process's scale), registered as ``name`` (replacing a previous one)."""
        limiter = RateLimiter(
            self._clock, burst=burst, per_minute=per_minute, what=what, scale=self._scale
        )
        self._limits[name] = limiter
        return limiter

    def key_counts(self) -> dict[str, int]:
        return {name: len(limiter) for name, limiter in sorted(self._limits.items())}
