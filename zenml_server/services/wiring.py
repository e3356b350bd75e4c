"""What every credential service is built from: one object instead of eight arguments."""

from __future__ import annotations

from dataclasses import dataclass, field

from zenml_server.domain.clock import Clock
from zenml_server.services.audit import Audit
from zenml_server.services.auth import Authenticator
from zenml_server.services.events import Events
from zenml_server.services.housekeeping import Housekeeping
from zenml_server.services.last_used import LastUsed
from zenml_server.services.rate_limit import RateLimits
from zenml_server.services.revocation import Revocations
from zenml_server.services.tokens import Tokens
from zenml_server.settings import Settings
from zenml_server.storage.store import Store


@dataclass(frozen=True)
class Wiring:
    """The shared parts a service registers with (token kinds, last-use flushers, sweeps)
    and works through (store, tokens, revocations, clock, settings)."""

    store: Store
    tokens: Tokens
    auth: Authenticator
    revocations: Revocations
    last_used: LastUsed
    housekeeping: Housekeeping
    clock: Clock
    settings: Settings
    # The audit trail every service records its security events in.
    audit: Audit
    # What happened, counted for /metrics (device flows, logins).
    events: Events = field(default_factory=Events)
    # Every rate limit, on ``clock`` and the settings' scale; made here, counted by /metrics.
    rate_limits: RateLimits = field(init=False)

    def __post_init__(self) -> None:
        limits = RateLimits(self.clock, scale=self.settings.rate_limit_scale)
        object.__setattr__(self, "rate_limits", limits)  # frozen: set once, here
