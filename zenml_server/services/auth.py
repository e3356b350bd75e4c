"""Who is calling: turns a bearer credential into a Principal, or refuses it.

Each token kind has a verifier registered by the service that issues it (users here; devices
and API keys in their own services). Verifiers decide from cached credential state
(``services/revocation.py``), so a valid request costs one signature check and dict lookups.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Container
from typing import Any

from zenml_server.domain.errors import InvalidCredentials
from zenml_server.domain.models import Principal, PrincipalKind, User
from zenml_server.domain.secrets import API_KEY_PREFIX
from zenml_server.services.revocation import CredentialCache
from zenml_server.services.tokens import Tokens, UnknownSigningKey
from zenml_server.storage.store import Store

TokenVerifier = Callable[[dict[str, Any]], Awaitable[Principal]]
KeyVerifier = Callable[[str], Awaitable[Principal]]


class Authenticator:
    def __init__(
        self, store: Store, tokens: Tokens, cache: CredentialCache, revoked: Container[str]
    ) -> None:
        self._store = store
        self._tokens = tokens
        self._cache = cache
        # jtis revoked in any process (services/token_revocation.py): a set lookup.
        self._revoked = revoked
        self._verifiers: dict[str, TokenVerifier] = {"user": self._verify_user_token}
        self._key_verifier: KeyVerifier | None = None

    def register_token_kind(self, kind: str, verifier: TokenVerifier) -> None:
        self._verifiers[kind] = verifier

    def register_api_key_verifier(self, verifier: KeyVerifier) -> None:
        self._key_verifier = verifier

    async def authenticate(self, bearer: str) -> Principal:
        """The principal behind ``bearer``; raise InvalidCredentials, never saying why."""
        if bearer.startswith(API_KEY_PREFIX):
            if self._key_verifier is None:
                raise InvalidCredentials("invalid credentials")
            return await self._key_verifier(bearer)
        claims = await self.claims(bearer)
        verifier = self._verifiers.get(claims["kind"])
        if verifier is None:
            raise InvalidCredentials("invalid credentials")
        return await verifier(claims)

    async def claims(self, bearer: str) -> dict[str, Any]:
        """The verified claims of an unrevoked token (no credential state check).

        A token naming a key this process has not heard of yet (rotated in another process a
        moment ago) makes it reload the keys, at most once a second.
        """
        try:
            claims = self._tokens.verify(bearer)
        except UnknownSigningKey:
            if not await self._tokens.keys.refresh():
                raise
            claims = self._tokens.verify(bearer)
        if claims.get("jti") in self._revoked:
            raise InvalidCredentials("invalid credentials")
        return claims

    def token_claims(self, bearer: str) -> dict[str, Any]:
        """The verified claims of a token (no state check): for revocation and introspection."""
        return self._tokens.verify(bearer)

    async def user(self, user_id: str) -> User | None:
        """The user as cached for authentication (None when deleted)."""
        return await self._cache.get(f"user:{user_id}", lambda: self._store.users.get(user_id))

    async def active_user(self, user_id: str, generation: object) -> User:
        """The user, when still active and the credential's generation is current."""
        user = await self.user(user_id)
        if user is None or not user.active or generation != user.credentials_generation:
            raise InvalidCredentials("invalid credentials")
        return user

    async def _verify_user_token(self, claims: dict[str, Any]) -> Principal:
        user = await self.active_user(claims["sub"], claims.get("gen"))
        return principal_for(user, PrincipalKind.USER, expires=float(claims["exp"]))


def principal_for(user: User, kind: PrincipalKind, **extra: Any) -> Principal:
    return Principal(kind=kind, id=user.id, name=user.name, is_admin=user.is_admin, **extra)
