"""``zenml service-account``: accounts for workloads that cannot open a browser."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from zenml_cli.arguments import add_command, add_group, boolean, given
from zenml_cli.client import Client, quote
from zenml_cli.commands import api_keys, trust
from zenml_cli.errors import CLIError
from zenml_cli.output import Column, add_output_option, field, record, table, time_field, to_json
from zenml_cli.runtime import Runtime

SERVICE_ACCOUNTS = "/api/v1/service_accounts"
DEFAULT_KEY_NAME = "default"
ACCOUNT_HELP = "the service account's name or id"

LIST_COLUMNS: Sequence[Column] = (
    ("NAME", field("name")),
    ("ACTIVE", field("active")),
    ("DESCRIPTION", field("description")),
    ("CREATED", time_field("created")),
    ("ID", field("id")),
)

DESCRIBE_COLUMNS: Sequence[Column] = (
    ("Name", field("name")),
    ("ID", field("id")),
    ("Active", field("active")),
    ("Description", field("description")),
    ("Created", time_field("created")),
    ("Updated", time_field("updated")),
)


def account_path(name_or_id: str) -> str:
    return f"{SERVICE_ACCOUNTS}/{quote(name_or_id)}"


def register(commands: argparse._SubParsersAction[Any]) -> None:
    _, sub = add_group(
        commands,
        "service-account",
        help="manage service accounts and their API keys",
        example=["zenml service-account create --name ci-bot", "zenml service-account list"],
    )

    create = add_command(
        sub,
        "create",
        help="create a service account and an API key for it",
        example=[
            "zenml service-account create --name ci-bot --description 'nightly CI'",
            "zenml service-account create --name ci-bot --expires-in 90d",
        ],
    )
    create.add_argument(
        "name_arg", nargs="?", metavar="NAME", help="the account's name (same as --name)"
    )
    create.add_argument("--name", help="the account's name (same as the positional NAME)")
    create.add_argument("--description", help="what the account is for")
    create.add_argument(
        "--no-api-key", action="store_true", help=f"don't create the {DEFAULT_KEY_NAME!r} key"
    )
    api_keys.add_expires_in(create)
    add_output_option(create)
    create.set_defaults(handler=run_create)

    listing = add_command(
        sub,
        "list",
        help="list service accounts",
        example=["zenml service-account list", "zenml service-account list --active false"],
    )
    listing.add_argument("--name", help="only accounts with this name")
    listing.add_argument(
        "--active", type=boolean, metavar="true|false", help="only active (or inactive) ones"
    )
    add_output_option(listing)
    listing.set_defaults(handler=run_list)

    describe = add_command(
        sub,
        "describe",
        help="show one service account and its API keys",
        example="zenml service-account describe ci-bot",
    )
    describe.add_argument("account", metavar="SERVICE_ACCOUNT_NAME", help=ACCOUNT_HELP)
    add_output_option(describe)
    describe.set_defaults(handler=run_describe)

    update = add_command(
        sub,
        "update",
        help="rename, describe, activate or deactivate an account",
        example="zenml service-account update ci-bot --active false",
    )
    update.add_argument("account", metavar="SERVICE_ACCOUNT_NAME", help=ACCOUNT_HELP)
    update.add_argument("--name", help="the new name")
    update.add_argument("--description", help="the new description")
    update.add_argument(
        "--active",
        type=boolean,
        metavar="true|false",
        help="false rejects the account's keys and tokens at once",
    )
    add_output_option(update)
    update.set_defaults(handler=run_update)

    delete = add_command(
        sub,
        "delete",
        help="delete a service account and its API keys",
        example="zenml service-account delete ci-bot --yes",
    )
    delete.add_argument("account", metavar="SERVICE_ACCOUNT_NAME", help=ACCOUNT_HELP)
    delete.add_argument("--yes", "-y", action="store_true", help="don't ask for confirmation")
    delete.set_defaults(handler=run_delete)

    api_keys.register(sub)
    trust.register(sub)


def run_create(rt: Runtime, args: argparse.Namespace) -> int:
    if args.name and args.name_arg and args.name != args.name_arg:
        raise CLIError(f"two names given ({args.name_arg!r} and --name {args.name!r}); give one")
    name = args.name or args.name_arg
    if not name:
        raise CLIError("give the service account's name: --name NAME")
    client = rt.client()
    body: dict[str, Any] = {"name": name}
    if args.description is not None:
        body["description"] = args.description
    account = client.post(SERVICE_ACCOUNTS, body)
    key = None if args.no_api_key else _create_default_key(rt, client, account, args)
    if args.output == "json":
        rt.out(to_json({"service_account": account, "api_key": key}))
        return 0
    rt.out(f"Created service account {account['name']!r} ({account['id']}).")
    if key is not None:
        rt.out(f"Created API key {key['name']!r} for it.")
        rt.out()
        api_keys.print_secret(rt, client.url, key)
    return 0


def _create_default_key(
    rt: Runtime, client: Client, account: dict[str, Any], args: argparse.Namespace
) -> dict[str, Any]:
    name = str(account["name"])
    body = {"name": DEFAULT_KEY_NAME, **api_keys.expires_at(rt, args)}
    try:
        key: dict[str, Any] = client.post(api_keys.keys_path(name), body)
    except CLIError as error:
        # A server with a maximum key lifetime refuses a key without an expiry.
        expiry = " --expires-in DURATION" if "expire" in error.message else ""
        raise CLIError(
            f"created service account {name!r}, but not its API key ({error.message}); "
            f"run `zenml service-account api-key {name} create {DEFAULT_KEY_NAME}{expiry}`"
        ) from None
    return key


def run_list(rt: Runtime, args: argparse.Namespace) -> int:
    accounts = list(rt.client().paginate(SERVICE_ACCOUNTS, name=args.name, active=args.active))
    if args.output == "json":
        rt.out(to_json(accounts))
    elif not accounts:
        rt.out("No service accounts.")
    else:
        rt.out(table(accounts, LIST_COLUMNS))
    return 0


def run_describe(rt: Runtime, args: argparse.Namespace) -> int:
    client = rt.client()
    account = client.get(account_path(args.account))
    if args.output == "json":
        rt.out(to_json(account))
        return 0
    rt.out(record(account, DESCRIBE_COLUMNS))
    keys = list(client.paginate(api_keys.keys_path(str(account["id"]))))
    rt.out()
    if keys:
        rt.out("API keys:")
        rt.out(table(keys, api_keys.LIST_COLUMNS))
    else:
        rt.out("API keys: none")
    return 0


def run_update(rt: Runtime, args: argparse.Namespace) -> int:
    changes = given(name=args.name, description=args.description, active=args.active)
    if not changes:
        raise CLIError("nothing to change: give --active, --description or --name")
    account = rt.client().put(account_path(args.account), changes)
    if args.output == "json":
        rt.out(to_json(account))
        return 0
    rt.out(f"Updated service account {account['name']!r}.")
    if args.active is False:
        rt.out("It is deactivated: its API keys and their tokens are rejected from now on.")
    elif args.active:
        rt.out("It is active: its active API keys work again.")
    return 0


def run_delete(rt: Runtime, args: argparse.Namespace) -> int:
    question = f"Delete service account {args.account!r} and all its API keys?"
    if not args.yes and not rt.confirm(question):
        raise CLIError("not deleted")
    rt.client().delete(account_path(args.account))
    rt.out(f"Deleted service account {args.account!r}.")
    return 0
