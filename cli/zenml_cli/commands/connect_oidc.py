"""``zenml connect --oidc-token-file PATH`` / ``--oidc-audience AUD``: keyless login.

The flags live here so ``connect`` itself only asks whether they were given.
"""

from __future__ import annotations

import argparse
from typing import Any

from zenml_cli import oidc
from zenml_cli.client import Client
from zenml_cli.config import Credentials
from zenml_cli.errors import CLIError
from zenml_cli.runtime import Runtime

CURRENT_USER = "/api/v1/current-user"


def add_arguments(connect: argparse.ArgumentParser) -> None:
    connect.add_argument(
        "--oidc-token-file",
        metavar="PATH",
        help="log in as a service account with the OIDC token in this file (read again at "
        "every refresh, e.g. a Kubernetes projected token); the account's trust policy decides",
    )
    connect.add_argument(
        "--oidc-audience",
        metavar="AUD",
        help="in GitHub Actions: fetch the job's OIDC token for this audience and log in with it",
    )


def wanted(rt: Runtime, args: argparse.Namespace) -> bool:
    """Explicit flags, or (without --api-key) a token named by the environment."""
    if args.api_key:
        return bool(args.oidc_token_file or args.oidc_audience)
    return bool(
        args.oidc_token_file
        or args.oidc_audience
        or rt.env.get(oidc.ENV_OIDC_TOKEN_FILE, "").strip()
        or rt.env.get(oidc.ENV_OIDC_TOKEN, "").strip()
    )


def credentials_for(rt: Runtime, args: argparse.Namespace) -> Credentials:
    if args.api_key:
        raise CLIError("give either --api-key or an OIDC token, not both")
    if args.oidc_token_file and args.oidc_audience:
        raise CLIError("give either --oidc-token-file or --oidc-audience, not both")
    if args.oidc_token_file:
        return Credentials(kind="oidc", oidc_token_file=args.oidc_token_file)
    if args.oidc_audience:
        if not oidc.on_github_actions(rt.env):
            raise CLIError(
                "--oidc-audience fetches a GitHub Actions token, but "
                f"{oidc.GITHUB_REQUEST_URL} is not set (does the job have "
                "`permissions: id-token: write`?)"
            )
        return Credentials(kind="oidc", oidc_audience=args.oidc_audience)
    found = oidc.from_environment(rt.env)
    assert found is not None
    return found


def run(rt: Runtime, url: str, args: Any) -> int:
    credentials = credentials_for(rt, args)
    access_token, expires_at = oidc.login_with_oidc(url, credentials, rt.env, rt.now())
    credentials.access_token, credentials.expires_at = access_token, expires_at
    user = Client(url, credentials, config=None, now=rt.now, env=rt.env).get(CURRENT_USER)
    name = user.get("name") if isinstance(user, dict) else None
    if not isinstance(name, str):
        raise CLIError("the server's answer to GET /api/v1/current-user has no user name")
    credentials.username = name
    rt.config().store(url, credentials)
    rt.out(f"Connected to {url} as service account {name} with an OIDC token (no stored secret).")
    return 0
