"""Trust policies: which platform tokens (issuer, audience, claims) log in as a service account.

Administration only; the exchange itself is ``services/token_exchange.py``. Removing a
policy ends the tokens exchanged under it on the next request (``trust_policy:<id>``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from zenml_server.domain.errors import InvalidInput, NotFound
from zenml_server.domain.federation import TrustPolicy
from zenml_server.domain.text import storable
from zenml_server.services.oidc import check_issuer_url
from zenml_server.services.service_accounts import ServiceAccounts
from zenml_server.services.wiring import Wiring

MAX_CLAIMS = 16
MAX_AUDIENCE_LENGTH = 256
MAX_CLAIM_VALUE_LENGTH = 256
MAX_POLICIES_PER_ACCOUNT = 50
MAX_DESCRIPTION_LENGTH = 1024
_CLAIM_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
# Checked by the exchange itself (issuer, audience, times, replay), not by a policy.
RESERVED_CLAIMS = frozenset({"iss", "aud", "exp", "nbf", "iat", "jti"})
_GLOB = frozenset("*?[")


def is_glob(pattern: str) -> bool:
    return any(ch in _GLOB for ch in pattern)


def check_audience(audience: str) -> str:
    if not audience or len(audience) > MAX_AUDIENCE_LENGTH or not audience.isprintable():
        raise InvalidInput(f"audience must be 1 to {MAX_AUDIENCE_LENGTH} printable characters")
    return audience


def check_claims(claims: Mapping[str, str]) -> dict[str, str]:
    """Required claims: at least one, and at least one that is not all wildcards, so a policy
    never trusts every token an issuer signs (a public CI issuer signs for everyone)."""
    if not claims:
        raise InvalidInput("give at least one required claim (e.g. repository=acme/pipelines)")
    if len(claims) > MAX_CLAIMS:
        raise InvalidInput(f"at most {MAX_CLAIMS} required claims")
    checked: dict[str, str] = {}
    for name, value in claims.items():
        if not isinstance(name, str) or not _CLAIM_NAME.match(name):
            raise InvalidInput("claim names are 1 to 64 letters, digits, '_', '.', ':' or '-'")
        if name in RESERVED_CLAIMS:
            raise InvalidInput(f"the claim {name!r} is checked by the server itself")
        if (
            not isinstance(value, str)
            or not value
            or len(value) > MAX_CLAIM_VALUE_LENGTH
            or not value.isprintable()
        ):
            raise InvalidInput(
                f"claim values are 1 to {MAX_CLAIM_VALUE_LENGTH} printable characters"
            )
        checked[name] = value
    if all(set(v) <= {"*"} for v in checked.values()):
        raise InvalidInput("at least one required claim must not be a bare wildcard")
    return checked


class TrustPolicies:
    def __init__(self, wiring: Wiring, accounts: ServiceAccounts) -> None:
        self._policies = wiring.store.trust_policies
        self._accounts = accounts
        self._revocations = wiring.revocations
        self._clock = wiring.clock

    async def add(
        self,
        account_name_or_id: str,
        *,
        issuer: str,
        audience: str,
        claims: Mapping[str, str],
        description: str | None = None,
    ) -> TrustPolicy:
        """A new policy for the account; its matching tokens log in from now on."""
        check_issuer_url(issuer)
        check_audience(audience)
        checked = check_claims(claims)
        description = description or ""
        if len(description) > MAX_DESCRIPTION_LENGTH or not storable(description):
            raise InvalidInput(f"description must be at most {MAX_DESCRIPTION_LENGTH} characters")
        account = await self._accounts.find_account(account_name_or_id)
        existing = await self._policies.list_for_account(account.id)
        if len(existing) >= MAX_POLICIES_PER_ACCOUNT:
            raise InvalidInput(f"an account has at most {MAX_POLICIES_PER_ACCOUNT} trust policies")
        policy = await self._policies.create(
            account.id,
            issuer=issuer,
            audience=audience,
            claims=checked,
            description=description,
            now=self._clock.now(),
        )
        if policy is None:
            raise NotFound("no such service account")
        return policy

    async def list(self, account_name_or_id: str) -> Sequence[TrustPolicy]:
        account = await self._accounts.find_account(account_name_or_id)
        return await self._policies.list_for_account(account.id)

    async def find(self, account_name_or_id: str, policy_id: str) -> TrustPolicy:
        account = await self._accounts.find_account(account_name_or_id)
        policy = await self._policies.get(policy_id) if storable(policy_id) else None
        if policy is None or policy.service_account_id != account.id:
            raise NotFound("no such trust policy")
        return policy

    async def remove(self, account_name_or_id: str, policy_id: str) -> None:
        """Delete the policy; tokens exchanged under it are refused from the next request."""
        policy = await self.find(account_name_or_id, policy_id)
        if not await self._policies.delete(policy.id, now=self._clock.now()):
            raise NotFound("no such trust policy")
        await self._revocations.announce(f"trust_policy:{policy.id}")
