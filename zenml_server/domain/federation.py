"""Federation records: trust policies (keyless workload login) and linked SSO identities."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# RFC 8693 §3 token type identifiers a subject token may be given as.
TOKEN_TYPE_JWT = "urn:ietf:params:oauth:token-type:jwt"  # noqa: S105 - an identifier
TOKEN_TYPE_ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"  # noqa: S105
TOKEN_TYPE_ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"  # noqa: S105
TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"  # noqa: S105


@dataclass(frozen=True, slots=True)
class TrustPolicy:
    """Tokens from ``issuer`` for ``audience`` whose claims match ``claims`` log in as the
    service account. A claim value is matched exactly, or as a glob when it holds ``*``,
    ``?`` or ``[``."""

    id: str
    service_account_id: str
    service_account_name: str
    issuer: str
    audience: str
    claims: Mapping[str, str]
    description: str
    created: float


@dataclass(frozen=True, slots=True)
class PolicyCandidate:
    """A policy for an issuer, with whether its account is active (for the exchange)."""

    policy: TrustPolicy
    account_active: bool
