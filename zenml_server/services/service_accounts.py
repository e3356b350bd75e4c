"""Service accounts and their API keys: administration, login with a key, and checking a key
or a token made from one on every request.

Checking costs no database round trip when nothing changed: a key's digest maps to
(key id, generation) forever (a digest is issued once, as one generation of one key), and
the key's and account's state are cached per process under ``api_key:<id>`` and
``service_account:<id>``, dropped whenever either changes (``services/revocation.py``).
A key or token of generation ``g`` works while the key and its account are active and ``g``
is the key's current generation, or the previous one within its retain period.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

from zenml_server.domain.audit import Outcome
from zenml_server.domain.errors import InvalidCredentials, InvalidInput, NotFound
from zenml_server.domain.models import ApiKey, Principal, PrincipalKind, ServiceAccount
from zenml_server.domain.secrets import digest, looks_like_api_key, new_api_key
from zenml_server.domain.text import storable
from zenml_server.services.tokens import IssuedToken
from zenml_server.services.users import check_name
from zenml_server.services.wiring import Wiring
from zenml_server.storage.service_account_summaries import AccountSummary, account_summaries
from zenml_server.storage.service_accounts import DigestMatch

T = TypeVar("T")

TOKEN_KIND = "api_key"  # noqa: S105 - a token kind, not a secret
MAX_DESCRIPTION_LENGTH = 1024
MAX_RETAIN_MINUTES = 525_600  # a year
_MAX_DIGESTS = 100_000
# Per client address: plenty for CI jobs behind one NAT, useless for flooding the database.
LOGIN_BURST = 30
LOGIN_PER_MINUTE = 30.0


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: Sequence[T]
    total: int
    page: int
    size: int


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A key as stored, with its secret: returned by create and rotate only, shown once."""

    key: ApiKey
    secret: str


def _check_description(description: str | None) -> str | None:
    if description is None:
        return None
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise InvalidInput(f"description must be at most {MAX_DESCRIPTION_LENGTH} characters")
    if not storable(description):
        raise InvalidInput("description must be text without NUL characters")
    return description


def _ended(issued_at: Any, key: ApiKey, account: ServiceAccount) -> bool:
    """True when the token was issued before its key or account was last deactivated.

    ``iat`` has milliseconds; a token from the very millisecond of a deactivation counts as
    issued before it.
    """
    if not isinstance(issued_at, int | float) or isinstance(issued_at, bool):
        return True
    return any(
        ended is not None and issued_at <= ended
        for ended in (key.tokens_valid_after, account.tokens_valid_after)
    )


def check_expiry(expires_at: float | None, now: float, max_days: int | None) -> float | None:
    """An API key's expiry: in the future, and within ZENML_SERVER_API_KEY_MAX_LIFETIME_DAYS
    when that is set (then a key without an expiry is refused)."""
    if expires_at is None:
        if max_days is not None:
            raise InvalidInput(f"API keys must expire within {max_days} days: give expires_at")
        return None
    if expires_at <= now:
        raise InvalidInput("expires_at must be in the future")
    if max_days is not None and expires_at > now + max_days * 86400:
        raise InvalidInput(f"expires_at must be at most {max_days} days ahead")
    return expires_at


def check_retain(minutes: int) -> int:
    if isinstance(minutes, bool) or not 0 <= minutes <= MAX_RETAIN_MINUTES:
        raise InvalidInput(f"retain_period_minutes must be from 0 to {MAX_RETAIN_MINUTES}")
    return minutes


class ServiceAccounts:
    def __init__(self, wiring: Wiring) -> None:
        self._store = wiring.store
        self._accounts = wiring.store.service_accounts
        self._tokens = wiring.tokens
        self._revocations = wiring.revocations
        self._cache = wiring.revocations.cache
        self._last_used = wiring.last_used
        self._clock = clock = wiring.clock
        self._token_lifetime = wiring.settings.jwt_token_expire_minutes * 60
        self._max_key_days = wiring.settings.api_key_max_lifetime_days
        self._audit = wiring.audit
        self._login_limit = wiring.rate_limits.new(
            "api_key_login_per_address",
            burst=LOGIN_BURST,
            per_minute=LOGIN_PER_MINUTE,
            what="API key login attempts",
        )
        # digest -> (key id, generation): facts that never change, so never invalidated.
        self._digests: dict[str, DigestMatch] = {}
        wiring.auth.register_token_kind(TOKEN_KIND, self._verify_token)
        wiring.auth.register_api_key_verifier(self.verify_key)
        wiring.last_used.register(TOKEN_KIND, self._accounts.touch_many)
        wiring.housekeeping.register(
            "api_key_expiries",
            lambda: self._accounts.record_expiries(
                clock.now(),
                lambda key_id, name: self._audit.event(
                    "api_key.expired", target=("api_key", key_id, name)
                ),
            ),
        )
        wiring.housekeeping.register(
            "api_key_previous_digests",
            lambda: self._accounts.forget_expired_digests(clock.now()),
        )

    # -- accounts -------------------------------------------------------------------------

    async def create_account(
        self, name: str, description: str | None = None, *, active: bool = True
    ) -> ServiceAccount:
        check_name(name)
        return await self._accounts.create_account(
            name,
            _check_description(description) or "",
            active=active,
            now=self._clock.now(),
            audit=self._audit.event(
                "service_account.created", target=("service_account", None, name)
            ),
        )

    async def list_accounts(
        self, *, name: str | None = None, active: bool | None = None, page: int = 1, size: int = 50
    ) -> Page[ServiceAccount]:
        if name is not None and not storable(name):
            raise InvalidInput("name must be text without NUL characters")
        items, total = await self._accounts.list_accounts(
            name=name, active=active, offset=(page - 1) * size, limit=size
        )
        return Page(items, total, page, size)

    async def list_summaries(
        self, *, search: str = "", active: bool | None = None, page: int = 1, size: int = 50
    ) -> Page[AccountSummary]:
        """Accounts whose name or description contains ``search``, with key counts and last
        use (for the admin page); one query."""
        if not storable(search):
            raise InvalidInput("search must be text without NUL characters")
        items, total = await account_summaries(
            self._store.db, search=search, active=active, offset=(page - 1) * size, limit=size
        )
        return Page(items, total, page, size)

    async def find_account(self, name_or_id: str) -> ServiceAccount:
        """The account with this name, else with this id; NotFound otherwise."""
        if not storable(name_or_id):
            raise NotFound("no such service account")
        account = await self._accounts.get_account_by_name(name_or_id)
        if account is None:
            account = await self._accounts.get_account(name_or_id)
        if account is None:
            raise NotFound("no such service account")
        return account

    async def update_account(
        self,
        name_or_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        active: bool | None = None,
    ) -> ServiceAccount:
        """Change an account; deactivating it refuses its keys and their tokens at once."""
        if name is not None:
            check_name(name)
        account = await self.find_account(name_or_id)
        action = _change_action("service_account", active)
        updated = await self._accounts.update_account(
            account.id,
            now=self._clock.now(),
            name=name,
            description=_check_description(description),
            active=active,
            audit=self._audit.event(
                action,
                target=("service_account", account.id, account.name),
                changed=_changed(name=name, description=description, active=active),
            ),
        )
        if updated is None:
            raise NotFound("no such service account")
        await self._revocations.announce(f"service_account:{account.id}")
        return updated

    async def delete_account(self, name_or_id: str) -> None:
        """Delete an account and all its keys; their tokens are refused at once."""
        account = await self.find_account(name_or_id)
        key_ids = await self._accounts.delete_account(
            account.id,
            now=self._clock.now(),
            audit=self._audit.event(
                "service_account.deleted", target=("service_account", account.id, account.name)
            ),
        )
        if key_ids is None:
            raise NotFound("no such service account")
        await self._revocations.announce(
            f"service_account:{account.id}", *(f"api_key:{k}" for k in key_ids)
        )

    # -- keys -----------------------------------------------------------------------------

    async def create_key(
        self,
        account_name_or_id: str,
        name: str,
        description: str | None = None,
        *,
        expires_at: float | None = None,
    ) -> IssuedKey:
        """A new key for the account, working until ``expires_at`` (None: no expiry); its
        secret is in the answer and nowhere else."""
        check_name(name)
        now = self._clock.now()
        expires_at = check_expiry(expires_at, now, self._max_key_days)
        account = await self.find_account(account_name_or_id)
        secret = new_api_key()
        key = await self._accounts.create_key(
            account.id,
            name,
            _check_description(description) or "",
            key_digest=digest(secret),
            now=now,
            expires_at=expires_at,
            audit=self._audit.event(
                "api_key.created",
                target=("api_key", None, f"{account.name}/{name}"),
                expires_at=expires_at,
            ),
        )
        return IssuedKey(key, secret)

    async def list_keys(
        self, account_name_or_id: str, *, page: int = 1, size: int = 50
    ) -> Page[ApiKey]:
        account = await self.find_account(account_name_or_id)
        items, total = await self._accounts.list_keys(
            account.id, offset=(page - 1) * size, limit=size
        )
        pending = self._last_used.pending(TOKEN_KIND)
        return Page([self._with_pending(k, pending) for k in items], total, page, size)

    async def find_key(self, account_name_or_id: str, name_or_id: str) -> ApiKey:
        """The account's key with this name, else with this id; NotFound otherwise."""
        account = await self.find_account(account_name_or_id)
        if not storable(name_or_id):
            raise NotFound("no such API key")
        key = await self._accounts.get_key_by_name(account.id, name_or_id)
        if key is None:
            key = await self._accounts.get_key(name_or_id)
        if key is None or key.service_account_id != account.id:
            raise NotFound("no such API key")
        return self._with_pending(key, self._last_used.pending(TOKEN_KIND))

    async def update_key(
        self,
        account_name_or_id: str,
        name_or_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        active: bool | None = None,
    ) -> ApiKey:
        """Change a key; deactivating it refuses it and its tokens at once."""
        if name is not None:
            check_name(name)
        key = await self.find_key(account_name_or_id, name_or_id)
        updated = await self._accounts.update_key(
            key.id,
            now=self._clock.now(),
            name=name,
            description=_check_description(description),
            active=active,
            audit=self._audit.event(
                _change_action("api_key", active),
                target=("api_key", key.id, f"{key.service_account_name}/{key.name}"),
                changed=_changed(name=name, description=description, active=active),
            ),
        )
        if updated is None:
            raise NotFound("no such API key")
        await self._revocations.announce(f"api_key:{key.id}")
        return updated

    async def rotate_key(
        self,
        account_name_or_id: str,
        name_or_id: str,
        *,
        retain_period_minutes: int,
        expires_at: float | None = None,
    ) -> IssuedKey:
        """A new secret for the key, working at once until ``expires_at`` (None: no expiry);
        the previous one (and its tokens) keep working ``retain_period_minutes`` (0: they
        stop now)."""
        check_retain(retain_period_minutes)
        now = self._clock.now()
        expires_at = check_expiry(expires_at, now, self._max_key_days)
        key = await self.find_key(account_name_or_id, name_or_id)
        secret = new_api_key()
        rotated = await self._accounts.rotate_key(
            key.id,
            new_digest=digest(secret),
            retain_minutes=retain_period_minutes,
            now=now,
            expires_at=expires_at,
            audit=self._audit.event(
                "api_key.rotated",
                target=("api_key", key.id, f"{key.service_account_name}/{key.name}"),
                retain_period_minutes=retain_period_minutes,
                expires_at=expires_at,
            ),
        )
        if rotated is None:
            raise NotFound("no such API key")
        await self._revocations.announce(f"api_key:{key.id}")
        return IssuedKey(rotated, secret)

    async def delete_key(self, account_name_or_id: str, name_or_id: str) -> None:
        key = await self.find_key(account_name_or_id, name_or_id)
        deleted = await self._accounts.delete_key(
            key.id,
            now=self._clock.now(),
            audit=self._audit.event(
                "api_key.deleted",
                target=("api_key", key.id, f"{key.service_account_name}/{key.name}"),
            ),
        )
        if not deleted:
            raise NotFound("no such API key")
        await self._revocations.announce(f"api_key:{key.id}")

    # -- authentication -------------------------------------------------------------------

    async def login(self, secret: str, *, ip: str) -> IssuedToken:
        """A short-lived token for a working key; InvalidCredentials otherwise (never why).

        Rate limited per client address. A token made from a previous key (in its retain
        period) carries that generation and ends with the retain period at the latest.
        """
        self._login_limit.hit(ip)
        try:
            match = await self._match(secret)
            key, account = await self._check(match.key_id, match.generation)
        except InvalidCredentials:
            self._audit.note(self._audit.event("login.api_key", outcome=Outcome.FAILURE))
            raise
        self._audit.note(
            self._audit.event(
                "login.api_key", target=("api_key", key.id, f"{account.name}/{key.name}")
            )
        )
        lifetime = self._token_lifetime
        if match.generation != key.generation and key.previous_expires is not None:
            left = int(key.previous_expires - self._clock.now())
            lifetime = max(1, min(lifetime, left))
        if key.expires_at is not None:
            # A token never outlives the key it came from.
            lifetime = max(1, min(lifetime, int(key.expires_at - self._clock.now())))
        return self._tokens.issue(
            TOKEN_KIND, account.id, lifetime, api_key_id=key.id, gen=match.generation
        )

    async def verify_key(self, secret: str) -> Principal:
        """The principal of a key used directly as a bearer credential."""
        match = await self._match(secret)
        key, account = await self._check(match.key_id, match.generation)
        expires = key.previous_expires if match.generation != key.generation else None
        return self._principal(account, key, expires)

    async def _verify_token(self, claims: dict[str, Any]) -> Principal:
        key_id, generation = claims.get("api_key_id"), claims.get("gen")
        if not isinstance(key_id, str) or type(generation) is not int:
            raise InvalidCredentials("invalid credentials")
        key, account = await self._check(key_id, generation)
        if account.id != claims["sub"] or _ended(claims.get("iat"), key, account):
            raise InvalidCredentials("invalid credentials")
        return self._principal(account, key, float(claims["exp"]))

    async def _match(self, secret: str) -> DigestMatch:
        # The checksum check comes first: a mistyped or made-up key costs no lookup.
        if not looks_like_api_key(secret):
            raise InvalidCredentials("invalid credentials")
        key_digest = digest(secret)
        match = self._digests.get(key_digest)
        if match is None:
            match = await self._accounts.find_by_digest(key_digest)
            if match is None:
                raise InvalidCredentials("invalid credentials")
            if len(self._digests) >= _MAX_DIGESTS:
                self._digests.clear()
            self._digests[key_digest] = match
        return match

    async def _check(self, key_id: str, generation: int) -> tuple[ApiKey, ServiceAccount]:
        """The key and its account when both are active and ``generation`` still works."""
        key: ApiKey | None = await self._cache.get(
            f"api_key:{key_id}", lambda: self._accounts.get_key(key_id)
        )
        now = self._clock.now()
        if key is None or not key.active or not _generation_works(key, generation, now):
            raise InvalidCredentials("invalid credentials")
        if key.expires_at is not None and key.expires_at <= now:
            # Expired: refused like an inactive key, with its tokens.
            raise InvalidCredentials("invalid credentials")
        account_id = key.service_account_id
        account: ServiceAccount | None = await self._cache.get(
            f"service_account:{account_id}", lambda: self._accounts.get_account(account_id)
        )
        if account is None or not account.active:
            raise InvalidCredentials("invalid credentials")
        self._last_used.mark(TOKEN_KIND, key.id, now)
        return key, account

    @staticmethod
    def _principal(account: ServiceAccount, key: ApiKey, expires: float | None) -> Principal:
        return Principal(
            kind=PrincipalKind.SERVICE_ACCOUNT,
            id=account.id,
            name=account.name,
            is_admin=False,
            api_key_id=key.id,
            expires=expires,
        )

    @staticmethod
    def _with_pending(key: ApiKey, pending: dict[str, float]) -> ApiKey:
        """The key with a use not yet written to the database (batched) counted in."""
        when = pending.get(key.id)
        if when is None or (key.last_login is not None and key.last_login >= when):
            return key
        return replace(key, last_login=when)


def _change_action(kind: str, active: bool | None) -> str:
    if active is True:
        return f"{kind}.activated"
    if active is False:
        return f"{kind}.deactivated"
    return f"{kind}.changed"


def _changed(**fields: object) -> list[str]:
    """The names of the fields a change sets (never their values)."""
    return sorted(name for name, value in fields.items() if value is not None)


def _generation_works(key: ApiKey, generation: int, now: float) -> bool:
    if generation == key.generation:
        return True
    return (
        generation == key.generation - 1
        and key.previous_expires is not None
        and now < key.previous_expires
    )
