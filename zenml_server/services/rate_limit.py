"""Token-bucket rate limits on everything a stranger can guess or flood.

Kept in memory per process: with N replicas an attacker gets at most N times the budget,
which stays far from what guessing a 256-bit code or a 34-bit user code with locks needs.
"""

from __future__ import annotations

from dataclasses import dataclass

from zenml_server.domain.clock import Clock
from zenml_server.domain.errors import RateLimited

_MAX_KEYS = 100_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Allow ``burst`` attempts at once per key, refilled at ``per_minute`` a minute."""

    def __init__(
        self, clock: Clock, *, burst: int, per_minute: float, what: str, scale: float = 1.0
    ) -> None:
        self._clock = clock
        self._burst = float(burst) * scale
        self._rate = per_minute * scale / 60.0
        self._what = what
        self._buckets: dict[str, _Bucket] = {}

    def hit(self, key: str) -> None:
        """Spend one attempt for ``key``; raise RateLimited when none is left."""
        now = self._clock.now()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= _MAX_KEYS:
                self._evict_full(now)
            bucket = self._buckets[key] = _Bucket(self._burst, now)
        else:
            bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)
            bucket.updated = now
        if bucket.tokens < 1.0:
            retry_after = (1.0 - bucket.tokens) / self._rate
            raise RateLimited(f"too many {self._what}; try again later", retry_after)
        bucket.tokens -= 1.0

    def _evict_full(self, now: float) -> None:
        # Drop keys whose bucket has refilled: forgetting them changes nothing.
        full = [
            k
            for k, b in self._buckets.items()
            if b.tokens + (now - b.updated) * self._rate >= self._burst
        ]
        for k in full:
            del self._buckets[k]
        if len(self._buckets) >= _MAX_KEYS:
            self._buckets.clear()
