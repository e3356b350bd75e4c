"""``zenml-server reset-password USER``: a lost password, recovered by whoever runs the server
(it needs the database URL, not a login).

A generated password is printed once, or one is read from standard input. Like any password
change it ends every token and browser session of the user; running replicas hear of it
through the change log (and NOTIFY on PostgreSQL) on their next check.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys

from zenml_server.domain.clock import SystemClock
from zenml_server.domain.errors import InvalidInput, NotFound
from zenml_server.settings import Settings


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    reset = sub.add_parser(
        "reset-password",
        help="set a user's password (a lost admin password): prints a generated one once, "
        "or reads one from standard input; ends the user's sessions and tokens",
    )
    reset.add_argument("user", metavar="USER", help="the user's name")
    reset.add_argument(
        "--password-stdin", action="store_true", help="read the new password from standard input"
    )


def run(settings: Settings, name: str, *, password_stdin: bool) -> int:
    """Reset ``name``'s password; print the outcome (the password only when generated)."""
    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            print("zenml-server: no password on standard input", file=sys.stderr)
            return 2
    try:
        generated = asyncio.run(reset_password(settings, name, password))
    except NotFound:
        print(f"zenml-server: no user named {name!r}", file=sys.stderr)
        return 1
    except InvalidInput as exc:
        print(f"zenml-server: {exc.message}", file=sys.stderr)
        return 2
    if generated is None:
        print(f"The password of {name!r} is changed; their sessions and tokens ended.")
    else:
        print(f"New password for {name!r} (shown once): {generated}")
        print("Their sessions and tokens ended. Log in and change it on /account/password.")
    return 0


async def reset_password(settings: Settings, name: str, password: str | None) -> str | None:
    """Set ``name``'s password on the configured database; the generated one, if any."""
    from zenml_server.services.passwords import Passwords
    from zenml_server.services.revocation import CHANNEL
    from zenml_server.services.users import check_password
    from zenml_server.storage.migrate import migrate
    from zenml_server.storage.store import Store

    generated = None
    if password is None:
        password = generated = secrets.token_urlsafe(18)
    check_password(password)
    now = SystemClock().now()
    store = await Store.open(settings.database_url, pool_size=1)
    passwords = Passwords()
    try:
        await migrate(store.db, now)
        user = await store.users.get_by_name(name)
        if user is None:
            raise NotFound(f"no user named {name!r}")
        await store.users.update(user.id, now=now, password_hash=await passwords.hash(password))
        await store.db.notify(CHANNEL, f"user:{user.id}")
    finally:
        passwords.close()
        await store.close()
    return generated
