"""Token introspection (RFC 7662) for other services: is this credential active, and whose?

The answer comes from the same checks as an authenticated request (signature, expiry,
revoked ``jti``, device locked, key or account inactive, user deactivated), so ``active`` is
true exactly when the token would be accepted now.
"""

from __future__ import annotations

from typing import Any

from zenml_server.domain.errors import InvalidCredentials
from zenml_server.domain.models import Principal, PrincipalKind
from zenml_server.domain.secrets import API_KEY_PREFIX
from zenml_server.services.auth import Authenticator

INACTIVE: dict[str, Any] = {"active": False}
_CLAIMS = ("sub", "exp", "iat", "iss", "jti")


class Introspection:
    def __init__(self, auth: Authenticator, allowed_accounts: tuple[str, ...]) -> None:
        self._auth = auth
        self._allowed = frozenset(allowed_accounts)

    def may_introspect(self, caller: Principal) -> bool:
        """Admins, and the service accounts named in ZENML_SERVER_INTROSPECTION_SERVICE_ACCOUNTS."""
        if caller.kind is PrincipalKind.SERVICE_ACCOUNT:
            return caller.name in self._allowed
        return caller.is_admin

    async def introspect(self, token: str) -> dict[str, Any]:
        """RFC 7662 §2.2: ``active`` plus the token's claims; ``{"active": false}`` for
        anything revoked, expired, locked, inactive or unknown (never saying which)."""
        try:
            principal = await self._auth.authenticate(token)
        except InvalidCredentials:
            return dict(INACTIVE)
        answer: dict[str, Any] = {"active": True, "username": principal.name}
        if token.startswith(API_KEY_PREFIX):
            answer.update(sub=principal.id, token_type="api_key", kind="api_key")  # noqa: S106 - a type
            if principal.api_key_id is not None:
                answer["api_key_id"] = principal.api_key_id
            if principal.expires is not None:
                answer["exp"] = int(principal.expires)
            return answer
        try:
            claims = await self._auth.claims(token)
        except InvalidCredentials:
            return dict(INACTIVE)
        answer.update({name: claims[name] for name in _CLAIMS if name in claims})
        answer["token_type"] = "Bearer"  # noqa: S105 - a token type, not a secret
        answer["kind"] = claims["kind"]
        for extra in ("device_id", "api_key_id"):
            if isinstance(claims.get(extra), str):
                answer[extra] = claims[extra]
        return answer
