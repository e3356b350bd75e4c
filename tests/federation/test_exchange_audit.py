"""Keyless logins (token exchange) in the audit trail."""

from __future__ import annotations

from typing import Any

from tests.builders import bearer
from tests.federation.builders import Client, add_policy, exchange
from tests.federation.oidc_provider import OidcProvider
from tests.service_accounts.builders import make_account


async def test_token_exchange_logins_are_recorded_without_the_subject_token(
    client: Client, admin_token: str, oidc_provider: OidcProvider
) -> None:
    """A keyless login and a refused one are recorded by kind, with the account and the
    refusal's reason, and the CI token itself is never stored."""
    await make_account(client, admin_token, "ci")
    await add_policy(client, admin_token, "ci", oidc_provider.issuer)
    good = oidc_provider.ci_token("ci-main")
    assert (await exchange(client, good)).status == 200
    assert (await exchange(client, oidc_provider.ci_token("ci-main"))).status == 200
    assert (await exchange(client, good)).status != 200  # replayed
    resp = await client.get(
        "/api/v1/audit", params={"action": "login.token_exchange"}, headers=bearer(admin_token)
    )
    found: list[dict[str, Any]] = (await resp.json())["items"]
    assert [e["outcome"] for e in found] == ["failure", "success", "success"]
    assert found[0]["detail"] == {"reason": "replayed"}
    assert found[1]["target"]["kind"] == "service_account"
    assert good not in repr(found)
