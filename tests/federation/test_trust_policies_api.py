"""Trust policies through the API: admins only, checked input, documented answers."""

from __future__ import annotations

from typing import Any

import pytest

from tests.builders import bearer, login, make_user
from tests.federation.builders import Client, add_policy, policies_path
from tests.openapi_check import checked
from tests.service_accounts.builders import make_account
from zenml_server.storage.store import Store

ISSUER = "https://token.actions.githubusercontent.com"


async def test_add_list_get_remove(client: Client, admin_token: str) -> None:
    """A policy is created, listed, read and removed, in the documented shapes."""
    await make_account(client, admin_token, "ci")
    body = {
        "issuer": ISSUER,
        "audience": "https://zenml.example.com",
        "claims": {"repository": "acme/pipelines", "ref": "refs/heads/*"},
        "description": "main and branches",
    }
    resp = await client.post(policies_path("ci"), json=body, headers=bearer(admin_token))
    created = await checked(resp)
    assert resp.status == 201
    assert created["issuer"] == ISSUER and created["claims"] == body["claims"]
    assert created["service_account"]["name"] == "ci"
    listed = await checked(await client.get(policies_path("ci"), headers=bearer(admin_token)))
    assert [p["id"] for p in listed["items"]] == [created["id"]]
    one = await client.get(f"{policies_path('ci')}/{created['id']}", headers=bearer(admin_token))
    assert (await checked(one)) == created
    gone = await client.delete(
        f"{policies_path('ci')}/{created['id']}", headers=bearer(admin_token)
    )
    assert gone.status == 204
    again = await client.get(f"{policies_path('ci')}/{created['id']}", headers=bearer(admin_token))
    assert again.status == 404 and (await checked(again))["error"] == "not_found"


@pytest.mark.parametrize(
    "body",
    [
        {"issuer": "http://idp.example.com", "audience": "a", "claims": {"sub": "x"}},
        {"issuer": "ftp://idp.example.com", "audience": "a", "claims": {"sub": "x"}},
        {"issuer": "https://idp.example.com?x=1", "audience": "a", "claims": {"sub": "x"}},
        # Not a URI (RFC 3986 allows ASCII only, and % only before two hex digits): no
        # provider's iss can equal it, and clients read a backslash as a slash or not.
        {"issuer": "http://[::1]:1/\u0094\u00c9\\", "audience": "a", "claims": {"sub": "x"}},
        {"issuer": "https://idp.example.com/t\u00e9nant", "audience": "a", "claims": {"sub": "x"}},
        {"issuer": "https://idp.ex\u00e4mple.com", "audience": "a", "claims": {"sub": "x"}},
        {"issuer": "https://idp.example.com/a\\b", "audience": "a", "claims": {"sub": "x"}},
        {"issuer": "https://idp.example.com/a\x7fb", "audience": "a", "claims": {"sub": "x"}},
        {"issuer": "https://idp.example.com/%zz", "audience": "a", "claims": {"sub": "x"}},
        {"issuer": "https://idp.example.com/a|b", "audience": "a", "claims": {"sub": "x"}},
        {"issuer": ISSUER, "audience": "a", "claims": {}},
        {"issuer": ISSUER, "audience": "a", "claims": {"repository": "*"}},
        {"issuer": ISSUER, "audience": "a", "claims": {"aud": "x"}},
        {"issuer": ISSUER, "audience": "a", "claims": {"bad name": "x"}},
        {"issuer": ISSUER, "audience": "a", "claims": {"sub": ""}},
        {"issuer": ISSUER, "audience": "a", "claims": {"sub": 3}},
        {"issuer": ISSUER, "audience": "", "claims": {"sub": "x"}},
        {"issuer": ISSUER, "claims": {"sub": "x"}},
        {"issuer": ISSUER, "audience": "a", "claims": {f"c{i}": "x" for i in range(17)}},
    ],
)
async def test_bad_policies_are_refused(
    client: Client, admin_token: str, store: Store, body: dict[str, Any]
) -> None:
    """A policy that is malformed, or would trust every token of an issuer, is a 422."""
    await make_account(client, admin_token, "ci")
    resp = await client.post(policies_path("ci"), json=body, headers=bearer(admin_token))
    assert resp.status == 422, await resp.text()
    assert (await checked(resp))["error"] == "validation_error"
    assert await store.trust_policies.issuers() == set()


async def test_only_admins_manage_policies(client: Client, admin_token: str) -> None:
    """A non-admin user can neither list nor add policies."""
    await make_account(client, admin_token, "ci")
    await make_user(client, admin_token, "alice")
    token = await login(client, "alice", "user-password-1")
    listed = await client.get(policies_path("ci"), headers=bearer(token))
    assert listed.status == 403 and (await checked(listed))["error"] == "forbidden"
    body = {"issuer": ISSUER, "audience": "a", "claims": {"sub": "x"}}
    added = await client.post(policies_path("ci"), json=body, headers=bearer(token))
    assert added.status == 403
    anonymous = await client.get(policies_path("ci"))
    assert anonymous.status == 401


async def test_unknown_account_or_policy_is_404(client: Client, admin_token: str) -> None:
    """Policies of a missing account, or of another account, are not found."""
    await make_account(client, admin_token, "ci")
    await make_account(client, admin_token, "other")
    policy = await add_policy(client, admin_token, "other", ISSUER)
    missing = await client.get(policies_path("nobody"), headers=bearer(admin_token))
    assert missing.status == 404 and (await checked(missing))["error"] == "not_found"
    crossed = await client.delete(
        f"{policies_path('ci')}/{policy['id']}", headers=bearer(admin_token)
    )
    assert crossed.status == 404


async def test_deleting_the_account_deletes_its_policies(
    client: Client, admin_token: str, store: Store
) -> None:
    """Policies go with their account."""
    await make_account(client, admin_token, "ci")
    await add_policy(client, admin_token, "ci", ISSUER)
    resp = await client.delete("/api/v1/service_accounts/ci", headers=bearer(admin_token))
    assert resp.status == 204
    assert await store.trust_policies.issuers() == set()


async def test_a_subject_token_is_remembered_once(store: Store) -> None:
    """Remembering a used subject token succeeds once; expired ones are forgotten."""
    assert await store.trust_policies.remember_subject_token("d1", expires=100.0)
    assert not await store.trust_policies.remember_subject_token("d1", expires=100.0)
    assert await store.trust_policies.forget_used_subject_tokens(100.0) == 1
    assert await store.trust_policies.remember_subject_token("d1", expires=200.0)
