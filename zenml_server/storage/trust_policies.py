"""Trust policies of service accounts, and the subject tokens already exchanged.

Removing a policy is logged in ``credential_changes`` (``trust_policy:<id>``) in the same
transaction, so every process refuses the tokens exchanged under it at once.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence

from zenml_server.domain.federation import PolicyCandidate, TrustPolicy
from zenml_server.storage.changes import ChangeLog
from zenml_server.storage.db import Database, Row, UniqueViolation

_COLUMNS = (
    "p.id, p.service_account_id, sa.name AS service_account_name, p.issuer, p.audience, "
    "p.claims, p.description, p.created"
)
_FROM = "trust_policies p JOIN service_accounts sa ON sa.id = p.service_account_id"


def _policy(row: Row) -> TrustPolicy:
    claims = json.loads(row["claims"])
    return TrustPolicy(
        id=row["id"],
        service_account_id=row["service_account_id"],
        service_account_name=row["service_account_name"],
        issuer=row["issuer"],
        audience=row["audience"],
        claims={str(k): str(v) for k, v in claims.items()},
        description=row["description"],
        created=float(row["created"]),
    )


class TrustPolicyStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self,
        account_id: str,
        *,
        issuer: str,
        audience: str,
        claims: Mapping[str, str],
        description: str,
        now: float,
    ) -> TrustPolicy | None:
        """Insert a policy; None when the account does not exist."""
        policy_id = str(uuid.uuid4())
        async with self._db.transaction() as conn:
            if await conn.fetchval("SELECT 1 FROM service_accounts WHERE id = $1", account_id):
                await conn.execute(
                    "INSERT INTO trust_policies "
                    "(id, service_account_id, issuer, audience, claims, description, created) "
                    "VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    policy_id,
                    account_id,
                    issuer,
                    audience,
                    json.dumps(dict(claims), sort_keys=True),
                    description,
                    now,
                )
            else:
                return None
        return await self.get(policy_id)

    async def get(self, policy_id: str) -> TrustPolicy | None:
        """The policy with this id, or None."""
        row = await self._db.fetchrow(f"SELECT {_COLUMNS} FROM {_FROM} WHERE p.id = $1", policy_id)
        return None if row is None else _policy(row)

    async def list_for_account(self, account_id: str) -> Sequence[TrustPolicy]:
        """The account's policies, oldest first."""
        rows = await self._db.fetch(
            f"SELECT {_COLUMNS} FROM {_FROM} WHERE p.service_account_id = $1 "
            f"ORDER BY p.created, p.id",
            account_id,
        )
        return [_policy(r) for r in rows]

    async def list_all(self, limit: int) -> Sequence[TrustPolicy]:
        """Up to ``limit`` policies of every account, by account name then age (admin page)."""
        rows = await self._db.fetch(
            f"SELECT {_COLUMNS} FROM {_FROM} ORDER BY sa.name, p.created, p.id LIMIT $1", limit
        )
        return [_policy(r) for r in rows]

    async def for_issuer(self, issuer: str) -> Sequence[PolicyCandidate]:
        """Every policy trusting ``issuer``, with whether its account is active."""
        rows = await self._db.fetch(
            f"SELECT {_COLUMNS}, sa.active AS account_active FROM {_FROM} "
            f"WHERE p.issuer = $1 ORDER BY p.created, p.id",
            issuer,
        )
        return [PolicyCandidate(_policy(r), bool(r["account_active"])) for r in rows]

    async def issuers(self) -> set[str]:
        """Every issuer some policy trusts: the only ones the server will ever fetch keys of."""
        rows = await self._db.fetch("SELECT DISTINCT issuer FROM trust_policies")
        return {r["issuer"] for r in rows}

    async def delete(self, policy_id: str, *, now: float) -> bool:
        """Delete a policy (its exchanged tokens stop working); False when it did not exist."""
        async with self._db.transaction() as conn:
            deleted = await conn.execute("DELETE FROM trust_policies WHERE id = $1", policy_id)
            if deleted:
                await ChangeLog.record(conn, f"trust_policy:{policy_id}", now)
        return bool(deleted)

    async def remember_subject_token(self, digest: str, *, expires: float) -> bool:
        """Record a subject token as used until ``expires``; False when it already was.

        One statement: two replicas exchanging the same token can never both win.
        """
        try:
            row = await self._db.fetchrow(
                "INSERT INTO exchanged_subject_tokens (digest, expires) VALUES ($1, $2) "
                "ON CONFLICT (digest) DO NOTHING RETURNING digest",
                digest,
                expires,
            )
        except UniqueViolation:
            return False
        return row is not None

    async def forget_used_subject_tokens(self, now: float) -> int:
        """Forget subject tokens that have expired (they are refused by expiry anyway)."""
        return await self._db.execute(
            "DELETE FROM exchanged_subject_tokens WHERE expires <= $1", now
        )
