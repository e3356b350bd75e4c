"""Trust policies as the service accounts page shows them (read-only; managed with the CLI
or the API)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from zenml_server.http.keys import STORE
from zenml_server.http.pages.render import when

_MAX_SHOWN = 5000


async def policy_views(request: web.Request) -> dict[str, list[dict[str, Any]]]:
    """Each account's policies, by account id, in one query."""
    views: dict[str, list[dict[str, Any]]] = {}
    for policy in await request.app[STORE].trust_policies.list_all(_MAX_SHOWN):
        views.setdefault(policy.service_account_id, []).append(
            {
                "id": policy.id,
                "issuer": policy.issuer,
                "audience": policy.audience,
                "claims": ", ".join(f"{k}={v}" for k, v in sorted(policy.claims.items())),
                "created": when(policy.created),
            }
        )
    return views
