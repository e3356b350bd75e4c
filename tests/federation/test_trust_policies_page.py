"""The service accounts page shows each account's trust policies."""

from __future__ import annotations

from tests.federation.builders import Client, add_policy
from tests.service_accounts.builders import make_account
from tests.service_accounts.test_pages import PAGE, web_login

ISSUER = "https://token.actions.githubusercontent.com"


async def test_the_page_lists_each_accounts_policies(client: Client, admin_token: str) -> None:
    """An account's policies (issuer, audience, claims) appear on its page; others say none."""
    ci_account = await make_account(client, admin_token, "ci")
    nightly_account = await make_account(client, admin_token, "nightly")
    policy = await add_policy(
        client, admin_token, "ci", ISSUER, claims={"repository": "acme/pipelines"}
    )
    await web_login(client)
    ci = await (await client.get(f"{PAGE}/{ci_account['id']}")).text()
    assert ISSUER in ci and "repository=acme/pipelines" in ci and policy["id"] in ci
    nightly = await (await client.get(f"{PAGE}/{nightly_account['id']}")).text()
    assert "zenml service-account trust add nightly" in nightly and ISSUER not in nightly
