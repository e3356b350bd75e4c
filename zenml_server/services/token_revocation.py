"""Revoking any access token (RFC 7009), and the per-process set of revoked ``jti``s.

Device tokens are revoked by deleting their device (as before). Every other token (password
login, API key login, token exchange) is revoked by its ``jti`` until its ``exp``: a row in
``revoked_tokens`` and a change-log entry in one transaction, then every process adds the
``jti`` to its in-memory set (at once here, through NOTIFY and the change-log poller
elsewhere; loaded whole at start). Checking a request is a set lookup, never a query.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from zenml_server.domain.clock import Clock
from zenml_server.domain.errors import InvalidCredentials
from zenml_server.domain.models import Principal
from zenml_server.domain.secrets import API_KEY_PREFIX
from zenml_server.services.wiring import Wiring
from zenml_server.storage.revoked_tokens import RevokedTokenStore

log = logging.getLogger(__name__)

PREFIX = "revoked_token:"
DEVICE_KIND = "device"
# Revokes a device token by deleting its device (``DeviceFlow.revoke``).
DeviceRevoker = Callable[[str], Awaitable[bool]]


def entity(jti: str, expires: float) -> str:
    """The change-log entity announcing that ``jti`` is revoked until ``expires``."""
    return f"{PREFIX}{jti}:{int(expires)}"


class RevokedTokens:
    """The ``jti``s revoked and not yet expired, in memory in every process."""

    def __init__(self, store: RevokedTokenStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._expires: dict[str, float] = {}

    def __contains__(self, jti: object) -> bool:
        return jti in self._expires

    def __len__(self) -> int:
        return len(self._expires)

    async def load(self) -> None:
        """Read every unexpired revocation (at start, and after a database outage)."""
        self._expires = dict(await self._store.unexpired(self._clock.now()))

    def on_change(self, changed: str) -> None:
        """Change-log watcher: remember a ``jti`` revoked in any process."""
        if not changed.startswith(PREFIX):
            return
        jti, _, expires = changed[len(PREFIX) :].rpartition(":")
        try:
            self._expires[jti] = float(expires)
        except ValueError:
            log.warning("ignoring a malformed revocation entry")

    async def prune(self) -> int:
        """Forget revocations of expired tokens, here and in the database."""
        now = self._clock.now()
        for jti in [j for j, exp in self._expires.items() if exp <= now]:
            del self._expires[jti]
        return await self._store.prune(now)


class TokenRevocation:
    """RFC 7009 §2.1: revoke the token presented, if the caller may."""

    def __init__(
        self, wiring: Wiring, revoked: RevokedTokens, revoke_device: DeviceRevoker
    ) -> None:
        self._wiring = wiring
        self._revoke_device = revoke_device
        self._revoked = revoked
        wiring.revocations.watch(revoked.on_change, revoked.load)
        wiring.housekeeping.register("revoked_tokens", revoked.prune)

    @property
    def held(self) -> int:
        """How many revoked, unexpired ``jti``s this process holds in memory (/metrics)."""
        return len(self._revoked)

    async def revoke(self, token: str, *, caller: Principal | None) -> str | None:
        """Revoke ``token``; return what was revoked (``device`` or ``token``), or None when
        nothing was: unknown, expired, already revoked, an API key itself, or (RFC 7009
        §2.2) a token of someone other than the authenticated ``caller``."""
        if token.startswith(API_KEY_PREFIX):
            return None
        try:
            claims = await self._wiring.auth.claims(token)
        except InvalidCredentials:
            return None
        if caller is not None and caller.id != claims["sub"]:
            return None
        jti = claims.get("jti")
        if claims["kind"] == DEVICE_KIND:
            return DEVICE_KIND if await self._revoke_device(token) else None
        if not isinstance(jti, str) or jti in self._revoked:
            return None
        expires = float(claims["exp"])
        changed = entity(jti, expires)
        now = self._wiring.clock.now()
        audit = self._wiring.audit.event(
            "token.revoked", target=("token", jti, claims["kind"]), subject=claims["sub"]
        )
        if not await self._wiring.store.revoked_tokens.revoke(
            jti, expires, entity=changed, now=now, audit=audit
        ):
            return None
        await self._wiring.revocations.announce(changed)
        log.info("token %s of %s revoked", jti, claims["kind"])
        return "token"
