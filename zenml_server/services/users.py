"""Users: the first admin, password login, creation and changes."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from zenml_server.domain.audit import Outcome
from zenml_server.domain.errors import InvalidCredentials, InvalidInput, NotFound, NotPermitted
from zenml_server.domain.models import User
from zenml_server.services.login_throttle import LoginThrottle
from zenml_server.services.passwords import Passwords
from zenml_server.services.tokens import IssuedToken
from zenml_server.services.wiring import Wiring

MAX_NAME_LENGTH = 128
MIN_PASSWORD_LENGTH = 8


def check_name(name: str) -> str:
    """A user or account name: 1-128 printable characters, no surrounding spaces."""
    if not name or len(name) > MAX_NAME_LENGTH or name != name.strip():
        raise InvalidInput("name must be 1 to 128 characters without surrounding spaces")
    if not name.isprintable():
        raise InvalidInput("name must contain printable characters only")
    return name


@dataclass(frozen=True)
class AdminBootstrap:
    user: User
    generated_password: str | None


class UserService:
    def __init__(self, wiring: Wiring, passwords: Passwords) -> None:
        self._store = wiring.store
        self._passwords = passwords
        self._tokens = wiring.tokens
        self._revocations = wiring.revocations
        self._clock = wiring.clock
        self._token_lifetime = wiring.settings.jwt_token_expire_minutes * 60
        self._audit = wiring.audit
        self._throttle = LoginThrottle(wiring.rate_limits)
        # Guessing the current password through the change form: a few tries per user.
        self._password_changes = wiring.rate_limits.new(
            "password_change_per_user", burst=5, per_minute=5, what="password changes"
        )

    async def bootstrap_admin(self, name: str, password: str | None) -> AdminBootstrap | None:
        """Create the first admin when the database has no users; None when it has some."""
        if await self._store.users.count():
            return None
        generated = None
        if password is None:
            password = generated = secrets.token_urlsafe(18)
        password_hash = await self._passwords.hash(password)
        user = await self._store.users.create_first_admin(name, password_hash, self._clock.now())
        return None if user is None else AdminBootstrap(user, generated)

    async def authenticate(self, name: str, password: str, *, ip: str) -> User:
        """The active user with this name and password; InvalidCredentials otherwise.

        Only failures count, per (name, address), per address, and per name across addresses
        (see ``LoginThrottle``); RateLimited past a budget. An unknown name costs the same
        argon2 verification as a known one.
        """
        attempt = self._throttle.begin(name, ip)
        try:
            user = await self._store.users.get_by_name(name)
            ok = await self._passwords.verify(user.password_hash if user else None, password)
        except BaseException:
            self._throttle.release(attempt)
            raise
        # An unknown name is not kept: it may be a password typed into the wrong field.
        target = ("user", None, None) if user is None else ("user", user.id, user.name)
        if user is None or not ok or not user.active:
            self._throttle.failed(attempt)
            # Queued, not written here: a flood of failures costs one write a second.
            self._audit.note(
                self._audit.event("login.password", target=target, outcome=Outcome.FAILURE)
            )
            raise InvalidCredentials("invalid username or password")
        self._throttle.release(attempt)
        self._audit.note(self._audit.event("login.password", target=target))
        return user

    def issue_token(self, user: User) -> IssuedToken:
        return self._tokens.issue(
            "user", user.id, self._token_lifetime, gen=user.credentials_generation
        )

    async def create(
        self, name: str, password: str | None, *, is_admin: bool = False, active: bool = True
    ) -> User:
        check_name(name)
        password_hash = None
        if password is not None:
            check_password(password)
            password_hash = await self._passwords.hash(password)
        return await self._store.users.create(
            name,
            password_hash,
            is_admin=is_admin,
            active=active,
            now=self._clock.now(),
            audit=self._audit.event(
                "user.created", target=("user", None, name), is_admin=is_admin, active=active
            ),
        )

    async def list(self) -> Sequence[User]:
        return await self._store.users.list()

    async def find(self, name_or_id: str) -> User:
        user = await self._store.users.get_by_name(name_or_id)
        if user is None:
            user = await self._store.users.get(name_or_id)
        if user is None:
            raise NotFound("no such user")
        return user

    async def change_own_password(
        self, user_id: str, old: str, new: str, *, keep_session: str | None = None
    ) -> User:
        """A user changes their own password, proving the current one.

        Ends every token issued before and every browser session but ``keep_session`` (the
        digest of the session that asked, when it came from a page). Raises NotPermitted for
        a wrong current password, InvalidInput for a bad new one, RateLimited when guessing.
        """
        self._password_changes.hit(user_id)
        user = await self._store.users.get(user_id)
        if user is None or not user.active:
            raise NotFound("no such user")
        if not await self._passwords.verify(user.password_hash, old):
            raise NotPermitted("the current password is not right")
        check_password(new)
        if new == old:
            raise InvalidInput("the new password must differ from the current one")
        password_hash = await self._passwords.hash(new)
        changed = await self._store.users.change_password(
            user.id,
            password_hash,
            now=self._clock.now(),
            keep_session=keep_session,
            audit=self._audit.event(
                "user.password_changed", target=("user", user.id, user.name), by="self"
            ),
        )
        if changed is None:
            raise NotFound("no such user")
        await self._revocations.announce(f"user:{user.id}")
        return changed

    async def delete(self, name_or_id: str) -> None:
        """Delete a user with their devices and sessions; NotPermitted for the last admin."""
        user = await self.find(name_or_id)
        device_ids = await self._store.users.delete(
            user.id,
            now=self._clock.now(),
            audit=self._audit.event("user.deleted", target=("user", user.id, user.name)),
        )
        if device_ids is None:
            raise NotFound("no such user")
        await self._revocations.announce(f"user:{user.id}", *(f"device:{d}" for d in device_ids))

    async def update(
        self,
        name_or_id: str,
        *,
        password: str | None = None,
        active: bool | None = None,
        is_admin: bool | None = None,
    ) -> User:
        """Change a user; a new password or a deactivation ends every token they hold.

        Raises NotPermitted when that would demote or deactivate the last active admin.
        """
        user = await self.find(name_or_id)
        password_hash = None
        if password is not None:
            check_password(password)
            password_hash = await self._passwords.hash(password)
        if password is not None:
            action = "user.password_changed"
        elif active is not None:
            action = "user.activated" if active else "user.deactivated"
        else:
            action = "user.changed"
        changed = sorted(
            field
            for field, value in (("password", password), ("active", active), ("is_admin", is_admin))
            if value is not None
        )
        updated = await self._store.users.update(
            user.id,
            now=self._clock.now(),
            password_hash=password_hash,
            active=active,
            is_admin=is_admin,
            audit=self._audit.event(action, target=("user", user.id, user.name), changed=changed),
        )
        if updated is None:
            raise NotFound("no such user")
        await self._revocations.announce(f"user:{user.id}")
        return updated


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > 1024:
        raise InvalidInput("password must be at most 1024 characters")
