"""Keyless login from the CLI against a real server and a real OpenID provider: trust
policies, `connect --oidc-token-file`, the environment, and GitHub Actions' token endpoint."""

from __future__ import annotations

import http.server
import json
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import Cli, Server, one_error_line, unique
from tests.federation.oidc_provider import (
    AUDIENCE,
    OidcProvider,
    oidc_provider,
    oidc_provider_dir,
)

__all__ = ["oidc_provider", "oidc_provider_dir"]
GITHUB_REQUEST_TOKEN = "gh-request-token"


def _trusted_account(admin_cli: Cli, provider: OidcProvider) -> tuple[str, str]:
    """A new service account trusting the provider's ci-main tokens for an audience of its
    own (the server lives for the whole session); return its name and that audience."""
    name = unique("ci")
    audience = f"{AUDIENCE}/{name}"
    assert admin_cli("service-account", "create", name, "--no-api-key").code == 0
    argv = ["service-account", "trust", "add", name, "--issuer", provider.issuer]
    argv += ["--audience", audience, "--claim", "repository=acme/pipelines"]
    result = admin_cli(*argv, "--claim", "ref=refs/heads/main")
    assert result.code == 0, result.err
    return name, audience


def test_trust_add_list_remove(admin_cli: Cli, oidc_provider: OidcProvider) -> None:
    """`service-account trust add|list|remove` manage an account's policies."""
    name, _ = _trusted_account(admin_cli, oidc_provider)
    listed = admin_cli("service-account", "trust", "list", name, "--output", "json")
    assert listed.code == 0, listed.err
    policies = json.loads(listed.out)
    assert [p["claims"] for p in policies] == [
        {"repository": "acme/pipelines", "ref": "refs/heads/main"}
    ]
    table = admin_cli("service-account", "trust", "list", name)
    assert oidc_provider.issuer in table.out and "repository=acme/pipelines" in table.out
    removed = admin_cli("service-account", "trust", "remove", name, policies[0]["id"])
    assert removed.code == 0, removed.err
    assert "trusts no OIDC tokens" in admin_cli("service-account", "trust", "list", name).out


def test_trust_add_needs_a_claim_and_refuses_bad_issuers(admin_cli: Cli) -> None:
    """No --claim, a malformed one or a plain-http issuer is one error line."""
    name = unique("ci")
    assert admin_cli("service-account", "create", name, "--no-api-key").code == 0
    base = ["service-account", "trust", "add", name, "--audience", AUDIENCE]
    assert one_error_line(admin_cli(*base, "--issuer", "https://idp.example.com"))
    assert one_error_line(admin_cli(*base, "--issuer", "https://idp.example.com", "--claim", "x"))
    plain = admin_cli(*base, "--issuer", "http://idp.example.com", "--claim", "sub=x")
    assert one_error_line(plain) and "https" in plain.err


def test_connect_with_a_token_file_reads_it_again_at_refresh(
    admin_cli: Cli, workload: Cli, server: Server, oidc_provider: OidcProvider, tmp_path: Path
) -> None:
    """`connect --oidc-token-file` logs in as the trusting account, stores no token, and reads
    the file again when its token runs out (a reused subject token would be refused)."""
    name, audience = _trusted_account(admin_cli, oidc_provider)
    token_file = tmp_path / "token"
    token_file.write_text(oidc_provider.ci_token("ci-main", audience))
    result = workload("connect", "--url", server.url, "--oidc-token-file", str(token_file))
    assert result.code == 0, result.err
    assert f"as service account {name}" in result.out
    stored = workload.config().credentials(server.url)
    assert stored is not None and stored.kind == "oidc"
    assert token_file.read_text() not in workload.config().path.read_text()
    # The token ran out: the next command exchanges what the file holds now.
    stored.expires_at = "2000-01-01T00:00:00Z"
    workload.config().store(server.url, stored)
    token_file.write_text(oidc_provider.ci_token("ci-main", audience))
    status = workload("status")
    assert status.code == 0, status.err
    assert name in status.out and "oidc" not in status.err


def test_environment_token_logs_in_without_storing(
    admin_cli: Cli, workload: Cli, server: Server, oidc_provider: OidcProvider
) -> None:
    """ZENML_STORE_URL + ZENML_STORE_OIDC_TOKEN work without `connect` and store nothing."""
    name, audience = _trusted_account(admin_cli, oidc_provider)
    token = oidc_provider.ci_token("ci-main", audience)
    env = {"ZENML_STORE_URL": server.url, "ZENML_STORE_OIDC_TOKEN": token}
    status = workload("status", env=env)
    assert status.code == 0, status.err
    assert name in status.out and "from the environment" in status.out
    assert "token_exchange" in status.out
    assert not workload.config().path.exists()


@pytest.fixture
def github_token_endpoint(oidc_provider: OidcProvider) -> Iterator[str]:
    """Stands in for GitHub's ACTIONS_ID_TOKEN_REQUEST_URL: checks the request token and
    answers {"value": <a real token from the provider for the asked audience>}."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
            if self.headers.get("Authorization") != f"Bearer {GITHUB_REQUEST_TOKEN}":
                self.send_response(401)
                self.end_headers()
                return
            token = oidc_provider.ci_token("ci-main", audience=query["audience"][0])
            body = json.dumps({"count": 1, "value": token}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/token?api-version=2.0"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_connect_in_github_actions_fetches_the_job_token(
    admin_cli: Cli,
    workload: Cli,
    server: Server,
    oidc_provider: OidcProvider,
    github_token_endpoint: str,
) -> None:
    """With ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN set, `connect --oidc-audience` fetches the job's
    token for that audience and exchanges it."""
    name, audience = _trusted_account(admin_cli, oidc_provider)
    env = {
        "ACTIONS_ID_TOKEN_REQUEST_URL": github_token_endpoint,
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": GITHUB_REQUEST_TOKEN,
    }
    result = workload("connect", "--url", server.url, "--oidc-audience", audience, env=env)
    assert result.code == 0, result.err
    assert f"as service account {name}" in result.out
    no_connect = {**env, "ZENML_STORE_URL": server.url, "ZENML_STORE_OIDC_AUDIENCE": audience}
    status = Cli(workload.config_dir.parent / "fresh")("status", env=no_connect)
    assert status.code == 0 and name in status.out, status.err
    outside = workload("connect", "--url", server.url, "--oidc-audience", audience)
    assert one_error_line(outside) and "ACTIONS_ID_TOKEN_REQUEST_URL" in outside.err


def test_an_untrusted_token_is_one_error_line(
    workload: Cli, server: Server, oidc_provider: OidcProvider, tmp_path: Path
) -> None:
    """A token no policy trusts, or a missing token file, is refused in one line."""
    token_file = tmp_path / "token"
    token_file.write_text(oidc_provider.ci_token("ci-other"))
    refused = workload("connect", "--url", server.url, "--oidc-token-file", str(token_file))
    assert one_error_line(refused) and "did not trust the OIDC token" in refused.err
    missing = workload("connect", "--url", server.url, "--oidc-token-file", str(tmp_path / "no"))
    assert one_error_line(missing) and "cannot read the OIDC token file" in missing.err
    assert not workload.config().path.exists()
