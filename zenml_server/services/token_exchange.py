"""Keyless login for workloads: a platform's OIDC token for a short-lived service-account
token (OAuth 2.0 Token Exchange, RFC 8693).

A subject token is exchanged when, after every check of ``OidcProviders.verify`` (signature
by the issuer's published keys, issuer, expiry with ``CLOCK_SKEW_SECONDS``), exactly one
active service account has a policy for that issuer whose audience the token carries and
whose every required claim matches (exactly, or as a glob). Each subject token is accepted
once: its ``jti`` (or, without one, its digest) is remembered until it expires.

The issued token (kind ``exchange``) names its policy; it is checked on every request from
cached state like an API key's token: refused once the account is deactivated or deleted,
or the policy removed (``services/revocation.py``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Any

from zenml_server.domain.audit import Outcome
from zenml_server.domain.errors import InvalidCredentials
from zenml_server.domain.federation import PolicyCandidate, TrustPolicy
from zenml_server.domain.models import Principal, PrincipalKind, ServiceAccount
from zenml_server.services.oidc import JwtRejected, OidcProviders, audiences_of, peek
from zenml_server.services.tokens import IssuedToken
from zenml_server.services.trust_policies import is_glob
from zenml_server.services.wiring import Wiring

TOKEN_KIND = "exchange"  # noqa: S105 - a token kind, not a secret
CLOCK_SKEW_SECONDS = 60.0
LOGIN_BURST = 30
LOGIN_PER_MINUTE = 60.0


def claim_matches(value: Any, pattern: str) -> bool:
    """A required claim: the token's value is a string (numbers and booleans compare as their
    JSON text) equal to ``pattern``, or matching it as a glob."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int | str):
        text = str(value)
    else:
        return False
    return fnmatchcase(text, pattern) if is_glob(pattern) else text == pattern


def policy_matches(policy: TrustPolicy, claims: Mapping[str, Any]) -> bool:
    if policy.audience not in audiences_of(claims):
        return False
    return all(
        name in claims and claim_matches(claims[name], pattern)
        for name, pattern in policy.claims.items()
    )


def the_one_match(
    candidates: Sequence[PolicyCandidate], claims: Mapping[str, Any]
) -> TrustPolicy | None:
    """The first matching policy when every match belongs to one active account; else None."""
    matches = [
        c.policy for c in candidates if c.account_active and policy_matches(c.policy, claims)
    ]
    if len({p.service_account_id for p in matches}) != 1:
        return None
    return matches[0]


def replay_key(issuer: str, claims: Mapping[str, Any], token: str) -> str:
    jti = claims.get("jti")
    if isinstance(jti, str) and jti:
        return hashlib.sha256(f"jti\n{issuer}\n{jti}".encode()).hexdigest()
    return hashlib.sha256(f"token\n{token}".encode()).hexdigest()


class TokenExchange:
    def __init__(self, wiring: Wiring, providers: OidcProviders) -> None:
        self._store = wiring.store
        self._policies = wiring.store.trust_policies
        self._tokens = wiring.tokens
        self._cache = wiring.revocations.cache
        self._clock = clock = wiring.clock
        self._providers = providers
        self._audit = wiring.audit
        self._lifetime = wiring.settings.token_exchange_expire_minutes * 60
        self._limit = wiring.rate_limits.new(
            "token_exchange_per_address",
            burst=LOGIN_BURST,
            per_minute=LOGIN_PER_MINUTE,
            what="token exchanges",
        )
        wiring.auth.register_token_kind(TOKEN_KIND, self._verify_token)
        wiring.housekeeping.register(
            "exchanged_subject_tokens",
            lambda: self._policies.forget_used_subject_tokens(clock.now()),
        )

    async def exchange(self, subject_token: str, *, ip: str) -> IssuedToken:
        """A token for the one service account that trusts ``subject_token``;
        InvalidCredentials otherwise, never saying why or which policies exist. Each
        attempt is queued for the audit trail (with the reason of a refusal)."""
        try:
            issued, policy = await self._exchange(subject_token, ip=ip)
        except InvalidCredentials as exc:
            reason = exc.reason if isinstance(exc, JwtRejected) else "invalid"
            event = self._audit.event(
                "login.token_exchange", outcome=Outcome.FAILURE, reason=reason
            )
            self._audit.note(event)
            raise
        target = ("service_account", policy.service_account_id, None)
        self._audit.note(
            self._audit.event("login.token_exchange", target=target, trust_policy=policy.id)
        )
        return issued

    async def _exchange(self, subject_token: str, *, ip: str) -> tuple[IssuedToken, TrustPolicy]:
        self._limit.hit(ip)
        _, unverified = peek(subject_token)
        issuer = unverified.get("iss")
        if not isinstance(issuer, str) or not issuer:
            raise JwtRejected("issuer")
        # Only issuers some policy names are ever fetched: no request to a client's URL.
        candidates = await self._policies.for_issuer(issuer)
        if not any(c.account_active for c in candidates):
            raise JwtRejected("issuer")
        claims = await self._providers.verify(
            subject_token, issuer=issuer, audience=None, leeway=CLOCK_SKEW_SECONDS
        )
        policy = the_one_match(candidates, claims)
        if policy is None:
            raise JwtRejected("no_match")
        expires = float(claims["exp"]) + CLOCK_SKEW_SECONDS
        key = replay_key(issuer, claims, subject_token)
        if not await self._policies.remember_subject_token(key, expires=expires):
            raise JwtRejected("replayed")
        issued = self._tokens.issue(
            TOKEN_KIND, policy.service_account_id, self._lifetime, trust_policy_id=policy.id
        )
        return issued, policy

    async def _verify_token(self, claims: dict[str, Any]) -> Principal:
        policy_id, account_id = claims.get("trust_policy_id"), claims["sub"]
        if not isinstance(policy_id, str):
            raise InvalidCredentials("invalid credentials")
        policy: TrustPolicy | None = await self._cache.get(
            f"trust_policy:{policy_id}", lambda: self._policies.get(policy_id)
        )
        if policy is None or policy.service_account_id != account_id:
            raise InvalidCredentials("invalid credentials")
        account: ServiceAccount | None = await self._cache.get(
            f"service_account:{account_id}",
            lambda: self._store.service_accounts.get_account(account_id),
        )
        if account is None or not account.active or _ended(claims.get("iat"), account):
            raise InvalidCredentials("invalid credentials")
        return Principal(
            kind=PrincipalKind.SERVICE_ACCOUNT,
            id=account.id,
            name=account.name,
            is_admin=False,
            expires=float(claims["exp"]),
            trust_policy_id=policy.id,
        )


def _ended(issued_at: Any, account: ServiceAccount) -> bool:
    """True when the token was issued before the account was last deactivated."""
    if not isinstance(issued_at, int | float) or isinstance(issued_at, bool):
        return True
    return account.tokens_valid_after is not None and issued_at <= account.tokens_valid_after
