"""``zenml service-account api-key SA ...``: create, list, rotate and deactivate API keys.

The service account comes before the action, as on the docs page:
``zenml service-account api-key <SERVICE_ACCOUNT_NAME> rotate <API_KEY_NAME> --retain 60``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from zenml_cli.arguments import (
    add_command,
    add_group,
    boolean,
    duration,
    given,
    non_negative_int,
)
from zenml_cli.client import quote
from zenml_cli.config import ENV_STORE_API_KEY, ENV_STORE_URL, format_timestamp, parse_timestamp
from zenml_cli.errors import CLIError
from zenml_cli.output import (
    Column,
    add_output_option,
    field,
    record,
    table,
    time_field,
    timestamp,
    to_json,
)
from zenml_cli.runtime import Runtime

ACCOUNT_HELP = "the service account's name or id"
KEY_HELP = "the API key's name or id"

LIST_COLUMNS: Sequence[Column] = (
    ("NAME", field("name")),
    ("ACTIVE", field("active")),
    ("LAST USED", time_field("last_login")),
    ("LAST ROTATED", time_field("last_rotated")),
    ("EXPIRES", time_field("expires_at")),
    ("DESCRIPTION", field("description")),
    ("ID", field("id")),
)

DESCRIBE_COLUMNS: Sequence[Column] = (
    ("Name", field("name")),
    ("ID", field("id")),
    ("Service account", field("service_account")),
    ("Active", field("active")),
    ("Description", field("description")),
    ("Created", time_field("created")),
    ("Updated", time_field("updated")),
    ("Last used", time_field("last_login")),
    ("Last rotated", time_field("last_rotated")),
    ("Retain (minutes)", field("retain_period_minutes")),
    ("Expires", time_field("expires_at")),
)


def keys_path(account: str, key: str | None = None) -> str:
    path = f"/api/v1/service_accounts/{quote(account)}/api_keys"
    return path if key is None else f"{path}/{quote(key)}"


def register(actions: argparse._SubParsersAction[Any]) -> None:
    _, sub = add_group(
        actions,
        "api-key",
        help="manage a service account's API keys",
        example=[
            "zenml service-account api-key ci-bot list",
            "zenml service-account api-key ci-bot rotate default --retain 60",
        ],
        dest="key_action",
        positionals=[("account", "SERVICE_ACCOUNT_NAME", ACCOUNT_HELP)],
    )

    create = add_command(
        sub,
        "create",
        help="create an API key (shown once)",
        example="zenml service-account api-key ci-bot create deploy --description 'CD job'",
    )
    create.add_argument("key", metavar="API_KEY_NAME", help=KEY_HELP)
    create.add_argument("--description", help="what the key is for")
    add_expires_in(create)
    add_output_option(create)
    create.set_defaults(handler=run_create)

    listing = add_command(
        sub,
        "list",
        help="list the account's API keys",
        example="zenml service-account api-key ci-bot list",
    )
    add_output_option(listing)
    listing.set_defaults(handler=run_list)

    describe = add_command(
        sub,
        "describe",
        help="show one API key (never its secret)",
        example="zenml service-account api-key ci-bot describe default",
    )
    describe.add_argument("key", metavar="API_KEY_NAME", help=KEY_HELP)
    add_output_option(describe)
    describe.set_defaults(handler=run_describe)

    rotate = add_command(
        sub,
        "rotate",
        help="replace the key with a new one (shown once)",
        example="zenml service-account api-key ci-bot rotate default --retain 60",
    )
    rotate.add_argument("key", metavar="API_KEY_NAME", help=KEY_HELP)
    rotate.add_argument(
        "--retain",
        type=non_negative_int,
        default=0,
        metavar="MINUTES",
        help="keep the old key working for this many minutes (default 0: retire it now)",
    )
    add_expires_in(rotate)
    add_output_option(rotate)
    rotate.set_defaults(handler=run_rotate)

    update = add_command(
        sub,
        "update",
        help="rename, describe, activate or deactivate a key",
        example="zenml service-account api-key ci-bot update default --active false",
    )
    update.add_argument("key", metavar="API_KEY_NAME", help=KEY_HELP)
    update.add_argument("--name", help="the new name")
    update.add_argument("--description", help="the new description")
    update.add_argument(
        "--active", type=boolean, metavar="true|false", help="false rejects the key at once"
    )
    add_output_option(update)
    update.set_defaults(handler=run_update)

    delete = add_command(
        sub,
        "delete",
        help="delete an API key",
        example="zenml service-account api-key ci-bot delete old-key --yes",
    )
    delete.add_argument("key", metavar="API_KEY_NAME", help=KEY_HELP)
    delete.add_argument("--yes", "-y", action="store_true", help="don't ask for confirmation")
    delete.set_defaults(handler=run_delete)


def add_expires_in(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--expires-in",
        type=duration,
        metavar="DURATION",
        help="the key stops working after this long, e.g. 90d, 12h or 30m (default: never)",
    )


def expires_at(rt: Runtime, args: argparse.Namespace) -> dict[str, str]:
    """The ``expires_at`` field for ``--expires-in`` (nothing when it was not given)."""
    if args.expires_in is None:
        return {}
    return {"expires_at": format_timestamp(rt.now() + args.expires_in)}


def print_secret(rt: Runtime, url: str, key: dict[str, Any]) -> None:
    """Show a new key once, with the warning and the two ways to use it."""
    secret = key.get("key")
    if not isinstance(secret, str):
        raise CLIError("the server's answer carries no key")
    rt.out("The API key is shown only this once; it cannot be retrieved later. Store it now:")
    rt.out()
    rt.out(f"    {secret}")
    rt.out()
    rt.out("Connect with it:")
    rt.out()
    rt.out(f"    zenml connect --url {url} --api-key {secret}")
    rt.out()
    rt.out("or, in CI jobs and containers, set:")
    rt.out()
    rt.out(f"    export {ENV_STORE_URL}={url}")
    rt.out(f"    export {ENV_STORE_API_KEY}={secret}")


def run_create(rt: Runtime, args: argparse.Namespace) -> int:
    client = rt.client()
    body: dict[str, Any] = {"name": args.key, **expires_at(rt, args)}
    if args.description is not None:
        body["description"] = args.description
    key = client.post(keys_path(args.account), body)
    if args.output == "json":
        rt.out(to_json(key))
        return 0
    rt.out(f"Created API key {key['name']!r} for service account {args.account!r}.")
    if key.get("expires_at"):
        rt.out(f"It expires at {timestamp(key['expires_at'])}.")
    rt.out()
    print_secret(rt, client.url, key)
    return 0


def run_list(rt: Runtime, args: argparse.Namespace) -> int:
    keys = list(rt.client().paginate(keys_path(args.account)))
    if args.output == "json":
        rt.out(to_json(keys))
    elif not keys:
        rt.out(f"Service account {args.account!r} has no API keys.")
    else:
        rt.out(table(keys, LIST_COLUMNS))
    return 0


def run_describe(rt: Runtime, args: argparse.Namespace) -> int:
    key = rt.client().get(keys_path(args.account, args.key))
    rt.out(to_json(key) if args.output == "json" else record(key, DESCRIBE_COLUMNS))
    return 0


def run_rotate(rt: Runtime, args: argparse.Namespace) -> int:
    client = rt.client()
    key = client.put(
        keys_path(args.account, args.key) + "/rotate",
        {"retain_period_minutes": args.retain, **expires_at(rt, args)},
    )
    if args.output == "json":
        rt.out(to_json(key))
        return 0
    rt.out(f"Rotated API key {key['name']!r} of service account {args.account!r}.")
    if key.get("expires_at"):
        rt.out(f"The new key expires at {timestamp(key['expires_at'])}.")
    if args.retain:
        rotated = key.get("last_rotated")
        start = parse_timestamp(rotated) if isinstance(rotated, str) else rt.now()
        until = (start + timedelta(minutes=args.retain)).isoformat()
        rt.out(f"The previous key keeps working until {timestamp(until)} ({args.retain} min).")
    else:
        rt.out("The previous key no longer works.")
    rt.out()
    print_secret(rt, client.url, key)
    return 0


def run_update(rt: Runtime, args: argparse.Namespace) -> int:
    changes = given(name=args.name, description=args.description, active=args.active)
    if not changes:
        raise CLIError("nothing to change: give --active, --description or --name")
    key = rt.client().put(keys_path(args.account, args.key), changes)
    if args.output == "json":
        rt.out(to_json(key))
        return 0
    rt.out(f"Updated API key {key['name']!r} of service account {args.account!r}.")
    if args.active is False:
        rt.out("It is deactivated: the key and its tokens are rejected from now on.")
    elif args.active:
        rt.out("It is active: the key works again (while its service account is active).")
    return 0


def run_delete(rt: Runtime, args: argparse.Namespace) -> int:
    question = f"Delete API key {args.key!r} of service account {args.account!r}?"
    if not args.yes and not rt.confirm(question):
        raise CLIError("not deleted")
    rt.client().delete(keys_path(args.account, args.key))
    rt.out(f"Deleted API key {args.key!r} of service account {args.account!r}.")
    return 0
