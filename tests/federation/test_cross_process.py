"""Two real server processes on one PostgreSQL: removing a trust policy through one refuses
the tokens exchanged through the other within a second."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.builders import ADMIN_PASSWORD
from tests.federation.oidc_provider import AUDIENCE, OidcProvider
from tests.servers import running_server
from tests.service_accounts.test_cross_process import (
    PROPAGATION_LIMIT,
    _refused_after,
    _status,
)

GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt"


@pytest.fixture
def servers(empty_postgres_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two zenml-server processes (A, B) on one emptied PostgreSQL database."""
    with (
        running_server(empty_postgres_url, tmp_path) as a,
        running_server(empty_postgres_url, tmp_path) as b,
    ):
        yield a.url, b.url


@pytest.mark.postgres
async def test_policy_removal_reaches_other_process(
    servers: tuple[str, str], oidc_provider: OidcProvider
) -> None:
    """A token exchanged on B is refused by B within a second of its policy's removal on A;
    the same subject token cannot be exchanged again on A (replays are shared)."""
    a, b = servers
    async with aiohttp.ClientSession() as session:
        login = {"username": "admin", "password": ADMIN_PASSWORD}
        async with session.post(a + "/api/v1/login", data=login) as resp:
            admin = {"Authorization": f"Bearer {(await resp.json())['access_token']}"}
        base = a + "/api/v1/service_accounts"
        async with session.post(base, json={"name": "xp"}, headers=admin) as resp:
            assert resp.status == 201
        policy = {
            "issuer": oidc_provider.issuer,
            "audience": AUDIENCE,
            "claims": {"repository": "acme/pipelines"},
        }
        async with session.post(base + "/xp/trust_policies", json=policy, headers=admin) as resp:
            assert resp.status == 201
            policy_id = (await resp.json())["id"]
        subject = oidc_provider.ci_token("ci-main")
        form = {"grant_type": GRANT, "subject_token": subject, "subject_token_type": JWT_TYPE}
        async with session.post(b + "/api/v1/login", data=form) as resp:
            assert resp.status == 200, await resp.text()
            token = (await resp.json())["access_token"]
        async with session.post(a + "/api/v1/login", data=form) as resp:
            assert resp.status == 400  # the replay is refused by the other process too
        assert await _status(session, b, token) == 200
        async with session.delete(f"{base}/xp/trust_policies/{policy_id}", headers=admin) as resp:
            assert resp.status == 204
        assert await _status(session, a, token) == 401
        assert await _refused_after(session, b, token) < PROPAGATION_LIMIT
