"""``zenml user``: create, list, update and delete users (admins only), and change your own
password."""

from __future__ import annotations

import argparse
import getpass
from collections.abc import Sequence
from typing import Any

from zenml_cli.arguments import add_command, add_group, boolean, given
from zenml_cli.client import quote, token_from_login
from zenml_cli.errors import CLIError
from zenml_cli.output import Column, add_output_option, field, table, time_field, to_json
from zenml_cli.runtime import Runtime

USERS = "/api/v1/users"
CHANGE_PASSWORD = "/api/v1/current-user/password"  # noqa: S105 - a path, not a secret

LIST_COLUMNS: Sequence[Column] = (
    ("NAME", field("name")),
    ("ADMIN", field("is_admin")),
    ("ACTIVE", field("active")),
    ("CREATED", time_field("created")),
    ("ID", field("id")),
)


def register(commands: argparse._SubParsersAction[Any]) -> None:
    _, sub = add_group(
        commands,
        "user",
        help="manage users (admins), or change your own password",
        example=["zenml user list", "zenml user create alice --password-stdin < password.txt"],
    )

    create = add_command(
        sub,
        "create",
        help="create a user",
        example="zenml user create alice --admin --password-stdin < password.txt",
    )
    create.add_argument("name", metavar="NAME", help="the new user's name")
    create.add_argument("--admin", action="store_true", help="make the user an admin")
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    add_output_option(create)
    create.set_defaults(handler=run_create)

    listing = add_command(sub, "list", help="list users", example="zenml user list")
    add_output_option(listing)
    listing.set_defaults(handler=run_list)

    update = add_command(
        sub,
        "update",
        help="activate, deactivate or change a user",
        example="zenml user update alice --active false",
    )
    update.add_argument("name", metavar="NAME", help="the user's name or id")
    update.add_argument(
        "--active",
        type=boolean,
        metavar="true|false",
        help="false rejects the user's devices and sessions at once",
    )
    update.add_argument(
        "--admin", type=boolean, metavar="true|false", dest="is_admin", help="make or unmake admin"
    )
    update.add_argument(
        "--password-stdin", action="store_true", help="read a new password from standard input"
    )
    add_output_option(update)
    update.set_defaults(handler=run_update)

    delete = add_command(
        sub,
        "delete",
        help="delete a user with their devices and sessions",
        example="zenml user delete alice --yes",
    )
    delete.add_argument("name", metavar="NAME", help="the user's name or id")
    delete.add_argument("--yes", "-y", action="store_true", help="don't ask for confirmation")
    delete.set_defaults(handler=run_delete)

    change = add_command(
        sub,
        "change-password",
        help="change your own password; your other sessions and devices are logged out",
        example=[
            "zenml user change-password",
            'printf \'%s\\n%s\\n\' "$OLD" "$NEW" | zenml user change-password --password-stdin',
        ],
    )
    change.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the current password, then the new one, one per line from standard input",
    )
    change.set_defaults(handler=run_change_password)


def run_delete(rt: Runtime, args: argparse.Namespace) -> int:
    if not args.yes and not rt.confirm(
        f"Delete user {args.name!r} with their devices and sessions?"
    ):
        raise CLIError("not deleted")
    rt.client().delete(f"{USERS}/{quote(args.name)}")
    rt.out(f"Deleted user {args.name!r}; their devices and sessions no longer work.")
    return 0


def run_change_password(rt: Runtime, args: argparse.Namespace) -> int:
    """Prove the current password, set a new one, and keep this CLI logged in."""
    if args.password_stdin:
        old, new = _read_password(rt), _read_password(rt)
    elif rt.stdin.isatty():
        old = getpass.getpass("Current password: ")
        new = getpass.getpass("New password: ")
        if getpass.getpass("New password again: ") != new:
            raise CLIError("the two new passwords differ; nothing was changed")
    else:
        raise CLIError("no terminal to ask for passwords: use --password-stdin")
    client = rt.client()
    body = client.put(CHANGE_PASSWORD, {"old_password": old, "new_password": new})
    token = token_from_login(body, rt.now())
    creds = client.credentials
    creds.access_token, creds.expires_at = token.access_token, token.expires_at
    if creds.kind == "password":
        creds.password = new
    if client.stored:
        rt.config().store(client.url, creds, activate=False)
    rt.out(
        "Password changed. Your other browser sessions and devices are logged out; "
        "this CLI stays logged in."
    )
    return 0


def _read_password(rt: Runtime) -> str:
    password = rt.stdin.readline().rstrip("\r\n")
    if not password:
        raise CLIError("--password-stdin: no password on standard input")
    return password


def run_create(rt: Runtime, args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"name": args.name, "is_admin": args.admin}
    if args.password_stdin:
        body["password"] = _read_password(rt)
    user = rt.client().post(USERS, body)
    if args.output == "json":
        rt.out(to_json(user))
    else:
        role = "admin" if user.get("is_admin") else "user"
        rt.out(f"Created {role} {user['name']!r} ({user['id']}).")
    return 0


def run_list(rt: Runtime, args: argparse.Namespace) -> int:
    users = list(rt.client().paginate(USERS))
    if args.output == "json":
        rt.out(to_json(users))
    elif not users:
        rt.out("No users.")
    else:
        rt.out(table(users, LIST_COLUMNS))
    return 0


def run_update(rt: Runtime, args: argparse.Namespace) -> int:
    password = _read_password(rt) if args.password_stdin else None
    changes = given(active=args.active, is_admin=args.is_admin, password=password)
    if not changes:
        raise CLIError("nothing to change: give --active, --admin or --password-stdin")
    user = rt.client().put(f"{USERS}/{quote(args.name)}", changes)
    if args.output == "json":
        rt.out(to_json(user))
        return 0
    rt.out(f"Updated user {user['name']!r}.")
    if args.active is False:
        rt.out("It is deactivated: its devices and sessions are rejected from now on.")
    return 0
