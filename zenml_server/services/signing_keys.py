"""The keyring: which key signs new tokens, which keys still verify, which are published.

- With ``ZENML_SERVER_JWT_SECRET_KEY`` set, that HS256 secret signs (its ``kid`` is derived
  from it) and is never published. Otherwise the first start makes an Ed25519 key pair
  (generation 1), stored in the database for every replica; ``rotate`` adds the next
  generation, which every process signs with once it hears of it (change log / NOTIFY).
- A superseded key verifies until the longest token lifetime has passed since it was
  superseded, then it is retired: gone from JWKS, refused, and deleted by housekeeping.
- Tokens without a ``kid`` come from a server before signing keys: they verify with the
  configured secret, or with the secret that server generated (moved here from
  ``server_settings``, sealed), which retires like any superseded key.
- Key material is sealed at rest with ``ZENML_SERVER_ENCRYPTION_KEY`` when it is set
  (plain keys are resealed at start); without it, start-up logs one warning.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from zenml_server.domain.clock import Clock
from zenml_server.domain.errors import DomainError
from zenml_server.domain.sealing import Sealer
from zenml_server.domain.secrets import new_token
from zenml_server.domain.signing_keys import (
    EDDSA,
    HS256,
    LEGACY_KID,
    SigningKey,
    configured_kid,
    ed25519_key,
    hs256_key,
    new_ed25519_private,
    new_kid,
)
from zenml_server.services.audit import Audit
from zenml_server.storage.signing_keys import ENTITY, SigningKeyStore, StoredKey
from zenml_server.storage.store import Store

log = logging.getLogger(__name__)

# Where a server before signing keys kept the HS256 secret it generated.
LEGACY_SETTING = "jwt_secret_key"
MAC_SETTING = "mac_secret"
_REFRESH_EVERY = 1.0


class StaticKeys:
    """A keyring of one configured HS256 secret and nothing else (no database): what
    ``Tokens(secret, …)`` uses, for tools and tests that need no key store."""

    def __init__(self, secret: str) -> None:
        self._key = hs256_key(configured_kid(secret), -1, 0.0, secret.encode())
        self.mac_secret: bytes = self._key.signing

    def current(self) -> SigningKey:
        return self._key

    def find(self, kid: str | None) -> SigningKey | None:
        return self._key if kid in (None, self._key.kid) else None

    async def refresh(self) -> bool:
        return False


class RotationRefused(DomainError):
    """The signing key cannot be rotated here (it comes from the configuration)."""


@dataclass(frozen=True)
class KeyState:
    """One key as ``zenml-server keys list`` shows it."""

    key: SigningKey
    status: str  # current | verifying | retired
    retires: float | None


class SigningKeys:
    def __init__(
        self,
        store: Store,
        sealer: Sealer,
        clock: Clock,
        *,
        configured_secret: str | None,
        max_lifetime: float,
        monotonic: Callable[[], float] = time.monotonic,
        audit: Audit | None = None,
    ) -> None:
        self._audit = audit
        self._store: SigningKeyStore = store.signing_keys
        self._settings_store = store.server_settings
        self._sealer = sealer
        self._clock = clock
        self._max_lifetime = max_lifetime
        self._monotonic = monotonic
        self._configured: SigningKey | None = None
        if configured_secret is not None:
            self._configured = hs256_key(
                configured_kid(configured_secret), -1, 0.0, configured_secret.encode()
            )
        self._keys: dict[str, SigningKey] = {}
        self._newest: SigningKey | None = None
        self._last_refresh = float("-inf")
        self._reloads: set[asyncio.Task[None]] = set()
        self.mac_secret = b""

    # -- start and reload -------------------------------------------------------------------

    async def start(self) -> None:
        """Adopt an older server's secret, make the first key if there is none, reseal plain
        keys when an encryption key is set, and load. Safe when replicas start together."""
        now = self._clock.now()
        legacy = await self._settings_store.get(LEGACY_SETTING)
        if legacy is not None:
            sealed = self._sealer.seal(LEGACY_KID, legacy.encode())
            await self._store.adopt_setting(
                LEGACY_SETTING, StoredKey(LEGACY_KID, 0, HS256, sealed, now)
            )
        if self._configured is None:
            kid = new_kid()
            private = new_ed25519_private()
            # Generation 1 exists once: of replicas racing here, one insert wins.
            await self._store.add(StoredKey(kid, 1, EDDSA, self._sealer.seal(kid, private), now))
            mac = await self._settings_store.get_or_set(
                MAC_SETTING, self._sealer.seal(MAC_SETTING, new_token(48).encode())
            )
            self.mac_secret = self._sealer.open(MAC_SETTING, mac)
            if self._sealer.encrypts and self._sealer.is_plain(mac):
                sealed_mac = self._sealer.seal(MAC_SETTING, self.mac_secret)
                await self._store.reseal_setting(MAC_SETTING, mac, sealed_mac)
        else:
            self.mac_secret = self._configured.signing
        stored = await self._store.all()
        if self._sealer.encrypts:
            for row in stored:
                if self._sealer.is_plain(row.material):
                    data = self._sealer.open(row.kid, row.material)
                    sealed = self._sealer.seal(row.kid, data)
                    await self._store.reseal(row.kid, row.material, sealed)
        elif stored:
            log.warning(
                "ZENML_SERVER_ENCRYPTION_KEY is not set: token signing keys are stored "
                "unencrypted, and a copy of the database is enough to mint tokens"
            )
        self._load(stored)

    async def reload(self) -> None:
        """Read the keys again (another process rotated or retired one)."""
        self._load(await self._store.all())

    async def refresh(self) -> bool:
        """A token named a key this process does not know (yet): reload, unless a refresh
        happened within the last second (so made-up kids cannot flood the database); True
        when it reloaded."""
        now = self._monotonic()
        if now - self._last_refresh < _REFRESH_EVERY:
            return False
        self._last_refresh = now
        await self.reload()
        return True

    def on_change(self, entity: str) -> None:
        """Change-log watcher: reload in the background when the keys changed."""
        if entity != ENTITY:
            return
        task = asyncio.get_running_loop().create_task(self.reload())
        self._reloads.add(task)
        task.add_done_callback(self._reloads.discard)

    def _load(self, stored: list[StoredKey]) -> None:
        keys: list[SigningKey] = []
        for row in stored:
            material = self._sealer.open(row.kid, row.material)
            if row.alg == EDDSA:
                keys.append(ed25519_key(row.kid, row.generation, row.created, material))
            elif row.alg == HS256:
                keys.append(hs256_key(row.kid, row.generation, row.created, material))
        keys.sort(key=lambda k: k.generation)
        # A key is superseded when the next generation was made.
        keys = [
            replace(older, superseded=newer.created) for older, newer in itertools.pairwise(keys)
        ] + keys[-1:]
        self._keys = {k.kid: k for k in keys}
        self._newest = keys[-1] if keys and keys[-1].alg == EDDSA else None

    # -- use --------------------------------------------------------------------------------

    def current(self) -> SigningKey:
        """The key new tokens are signed with."""
        if self._configured is not None:
            return self._configured
        if self._newest is None:
            raise RuntimeError("signing keys are not loaded")
        return self._newest

    def find(self, kid: str | None) -> SigningKey | None:
        """The key that verifies tokens naming ``kid`` (None: a token from before signing
        keys); None when unknown or retired."""
        if self._configured is not None and kid in (None, self._configured.kid):
            return self._configured
        key = self._keys.get(LEGACY_KID if kid is None else kid)
        if key is None or self._retired(key):
            return None
        return key

    def published(self) -> list[dict[str, str]]:
        """The public JWKs of every key that still verifies (RFC 7517 §5)."""
        return [k.jwk() for k in self._keys.values() if k.public and not self._retired(k)]

    def states(self) -> list[KeyState]:
        """Every known key with its status, newest first."""
        now = self._clock.now()
        found = []
        if self._configured is not None:
            found.append(KeyState(self._configured, "current (configured)", None))
        for key in sorted(self._keys.values(), key=lambda k: -k.generation):
            retires = key.retires(self._max_lifetime)
            if retires is None:
                status = "current" if self._configured is None else "verifying"
            else:
                status = "retired" if retires <= now else "verifying"
            found.append(KeyState(key, status, retires))
        return found

    def _retired(self, key: SigningKey) -> bool:
        retires = key.retires(self._max_lifetime)
        return retires is not None and retires <= self._clock.now()

    # -- change -----------------------------------------------------------------------------

    async def rotate(self) -> tuple[SigningKey, SigningKey | None]:
        """Make a new current key; the previous one verifies until its tokens expire.
        Returns (new, previous)."""
        if self._configured is not None:
            raise RotationRefused(
                "the signing key is ZENML_SERVER_JWT_SECRET_KEY: change or unset it there "
                "(changing it logs everyone out)"
            )
        await self.reload()
        previous = self._newest
        generation = max((k.generation for k in self._keys.values()), default=0) + 1
        kid = new_kid()
        sealed = self._sealer.seal(kid, new_ed25519_private())
        audit = None
        if self._audit is not None:
            audit = self._audit.event(
                "signing_key.rotated",
                target=("signing_key", kid, None),
                previous=None if previous is None else previous.kid,
            )
        stored = StoredKey(kid, generation, EDDSA, sealed, self._clock.now())
        if not await self._store.add(stored, audit):
            raise RotationRefused("another rotation happened at the same time; run it again")
        await self.reload()
        return self.current(), previous

    async def retire(self) -> int:
        """Housekeeping: delete retired keys; return how many."""
        retired = [k.generation for k in self._keys.values() if self._retired(k)]
        if not retired:
            return 0
        removed = await self._store.delete_older_than(max(retired) + 1, self._clock.now())
        await self.reload()
        return removed
