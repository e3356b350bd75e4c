"""The service-accounts admin list: each account with how many keys it has and when one was
last used, found by a search, in one query (no query per account)."""

from __future__ import annotations

from dataclasses import dataclass

from zenml_server.domain.models import ServiceAccount
from zenml_server.storage.db import Database
from zenml_server.storage.service_accounts import _account, _opt_float

_MAX_SEARCH = 128


@dataclass(frozen=True, slots=True)
class AccountSummary:
    account: ServiceAccount
    key_count: int
    last_used: float | None


def like_pattern(search: str) -> str:
    """A case-insensitive LIKE pattern matching ``search`` anywhere (``%`` and ``_`` literal)."""
    escaped = search[:_MAX_SEARCH].lower().replace("\\", "\\\\")
    escaped = escaped.replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def account_summaries(
    db: Database, *, search: str, active: bool | None, offset: int, limit: int
) -> tuple[list[AccountSummary], int]:
    """One page of accounts whose name or description contains ``search`` (any case), by
    name, each with its number of API keys and latest key use; and how many match in all."""
    where = (
        "(lower(a.name) LIKE $1 ESCAPE '\\' OR lower(a.description) LIKE $1 ESCAPE '\\') "
        "AND (CAST($2 AS BOOLEAN) IS NULL OR a.active = $2)"
    )
    pattern = like_pattern(search)
    total = await db.fetchval(
        f"SELECT count(*) FROM service_accounts a WHERE {where}", pattern, active
    )
    rows = await db.fetch(
        "SELECT a.id, a.name, a.description, a.active, a.created, a.updated, "
        "a.tokens_valid_after, count(k.id) AS key_count, max(k.last_login) AS last_used "
        "FROM service_accounts a LEFT JOIN api_keys k ON k.service_account_id = a.id "
        f"WHERE {where} "
        "GROUP BY a.id, a.name, a.description, a.active, a.created, a.updated, "
        "a.tokens_valid_after ORDER BY a.name LIMIT $3 OFFSET $4",
        pattern,
        active,
        limit,
        offset,
    )
    summaries = [
        AccountSummary(_account(r), int(r["key_count"]), _opt_float(r["last_used"])) for r in rows
    ]
    return summaries, int(total)
