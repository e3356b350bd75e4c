"""``zenml service-account trust add|list|remove SA``: which platform OIDC tokens may log in
as a service account (keyless login, RFC 8693 token exchange)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from zenml_cli.arguments import add_command, add_group
from zenml_cli.client import quote
from zenml_cli.errors import CLIError
from zenml_cli.output import Column, add_output_option, field, table, time_field, to_json
from zenml_cli.runtime import Runtime


def _claims(item: dict[str, Any]) -> str:
    claims = item.get("claims")
    if not isinstance(claims, dict):
        return "-"
    return ", ".join(f"{k}={v}" for k, v in sorted(claims.items())) or "-"


LIST_COLUMNS: Sequence[Column] = (
    ("ID", field("id")),
    ("ISSUER", field("issuer")),
    ("AUDIENCE", field("audience")),
    ("CLAIMS", _claims),
    ("CREATED", time_field("created")),
)


def policies_path(account: str, policy: str | None = None) -> str:
    path = f"/api/v1/service_accounts/{quote(account)}/trust_policies"
    return path if policy is None else f"{path}/{quote(policy)}"


def claim(raw: str) -> tuple[str, str]:
    """``name=value`` (the value may hold ``*``, ``?`` and ``[...]`` globs)."""
    name, sep, value = raw.partition("=")
    if not sep or not name.strip() or not value:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {raw!r}")
    return name.strip(), value


ACCOUNT_HELP = "the service account's name or id"


def register(actions: argparse._SubParsersAction[Any]) -> None:
    _, sub = add_group(
        actions,
        "trust",
        help="trust a platform's OIDC tokens for a service account (no stored secret)",
        example=[
            "zenml service-account trust add ci-bot --issuer "
            "https://token.actions.githubusercontent.com --audience https://zenml.example.com "
            "--claim repository=acme/pipelines --claim ref=refs/heads/main",
            "zenml service-account trust list ci-bot",
        ],
        dest="trust_action",
    )

    add = add_command(
        sub,
        "add",
        help="trust tokens from an issuer, for an audience, whose claims match",
        example="zenml service-account trust add ci-bot --issuer https://token.actions."
        "githubusercontent.com --audience https://zenml.example.com --claim repository=acme/*",
    )
    add.add_argument("account", metavar="SERVICE_ACCOUNT_NAME", help=ACCOUNT_HELP)
    add.add_argument("--issuer", required=True, help="the token issuer's https:// URL")
    add.add_argument("--audience", required=True, help="the audience the token must carry")
    add.add_argument(
        "--claim",
        action="append",
        type=claim,
        default=[],
        metavar="NAME=VALUE",
        help="a claim the token must carry, exactly or as a glob (repeatable), "
        "e.g. repository=acme/pipelines",
    )
    add.add_argument("--description", help="what the policy is for")
    add_output_option(add)
    add.set_defaults(handler=run_add)

    listing = add_command(
        sub,
        "list",
        help="list the account's trust policies",
        example="zenml service-account trust list ci-bot",
    )
    listing.add_argument("account", metavar="SERVICE_ACCOUNT_NAME", help=ACCOUNT_HELP)
    add_output_option(listing)
    listing.set_defaults(handler=run_list)

    remove = add_command(
        sub,
        "remove",
        help="remove a trust policy (tokens exchanged under it stop working at once)",
        example="zenml service-account trust remove ci-bot 6f1c0d2e-…",
    )
    remove.add_argument("account", metavar="SERVICE_ACCOUNT_NAME", help=ACCOUNT_HELP)
    remove.add_argument("policy", metavar="POLICY_ID", help="the policy's id (see trust list)")
    remove.set_defaults(handler=run_remove)


def run_add(rt: Runtime, args: argparse.Namespace) -> int:
    claims: dict[str, str] = {}
    for name, value in args.claim:
        if name in claims:
            raise CLIError(f"--claim {name} is given twice")
        claims[name] = value
    if not claims:
        raise CLIError("give at least one --claim NAME=VALUE (e.g. repository=acme/pipelines)")
    body: dict[str, Any] = {"issuer": args.issuer, "audience": args.audience, "claims": claims}
    if args.description is not None:
        body["description"] = args.description
    policy = rt.client().post(policies_path(args.account), body)
    if args.output == "json":
        rt.out(to_json(policy))
        return 0
    rt.out(f"Service account {args.account!r} now trusts tokens from {policy['issuer']}")
    rt.out(f"for audience {policy['audience']} with {_claims(policy)} (policy {policy['id']}).")
    return 0


def run_list(rt: Runtime, args: argparse.Namespace) -> int:
    policies = list(rt.client().paginate(policies_path(args.account)))
    if args.output == "json":
        rt.out(to_json(policies))
    elif not policies:
        rt.out(f"Service account {args.account!r} trusts no OIDC tokens.")
    else:
        rt.out(table(policies, LIST_COLUMNS))
    return 0


def run_remove(rt: Runtime, args: argparse.Namespace) -> int:
    rt.client().delete(policies_path(args.account, args.policy))
    rt.out(f"Removed trust policy {args.policy}; tokens exchanged under it stop working now.")
    return 0
