"""The device authorization grant (RFC 8628). Filled in by the device-flow work."""

from __future__ import annotations

from zenml_server.domain.clock import Clock
from zenml_server.services.auth import Authenticator
from zenml_server.services.housekeeping import Housekeeping
from zenml_server.services.last_used import LastUsed
from zenml_server.services.revocation import Revocations
from zenml_server.services.tokens import Tokens
from zenml_server.settings import Settings
from zenml_server.storage.store import Store


class DeviceFlow:
    def __init__(
        self,
        store: Store,
        tokens: Tokens,
        auth: Authenticator,
        revocations: Revocations,
        last_used: LastUsed,
        housekeeping: Housekeeping,
        clock: Clock,
        settings: Settings,
    ) -> None:
        self._store = store
