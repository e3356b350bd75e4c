"""``zenml-server keys list`` and ``zenml-server keys rotate``: the signing keys, by an admin
on the server's machine (it needs the database URL and the encryption key, not an API token).

Rotation adds the next key to the database; every running replica hears of it through the
change log (and NOTIFY on PostgreSQL) and signs with it from then on, while tokens signed
with the previous key keep verifying until they expire. Nobody is logged out.
"""

from __future__ import annotations

import argparse

from zenml_server.domain.clock import SystemClock, isoformat
from zenml_server.settings import Settings


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = sub.add_parser("keys", help="list or rotate the token signing keys")
    actions = keys.add_subparsers(dest="keys_command", required=True)
    actions.add_parser("list", help="show every signing key and until when it verifies")
    actions.add_parser("rotate", help="make a new current signing key (nobody is logged out)")


async def run(settings: Settings, action: str) -> str:
    """Do ``action`` (list or rotate); return what to print."""
    from zenml_server.http.context import signing_keys
    from zenml_server.services.audit import Audit
    from zenml_server.services.housekeeping import Housekeeping
    from zenml_server.services.revocation import CHANNEL
    from zenml_server.storage.migrate import migrate
    from zenml_server.storage.signing_keys import ENTITY
    from zenml_server.storage.store import Store

    clock = SystemClock()
    store = await Store.open(settings.database_url, pool_size=1)
    try:
        await migrate(store.db, clock.now())
        audit = Audit(store.audit, clock, Housekeeping(), settings.audit_retention_days)
        keys = signing_keys(store, settings, clock, audit)
        await keys.start()
        if action == "rotate":
            new, previous = await keys.rotate()
            await store.db.notify(CHANNEL, ENTITY)
            lines = [f"New current signing key: {new.kid} ({new.alg})."]
            if previous is not None:
                retires = clock.now() + settings.max_token_lifetime
                lines.append(
                    f"The previous key {previous.kid} keeps verifying the tokens it signed "
                    f"until {isoformat(retires)}, then retires. Nobody is logged out."
                )
            lines.append("Running servers sign with the new key within a second.")
            return "\n".join(lines)
        rows = [("KID", "ALG", "STATUS", "CREATED", "RETIRES")]
        for state in keys.states():
            key = state.key
            created = isoformat(key.created) if key.generation >= 0 else "-"
            rows.append(
                (key.kid, key.alg, state.status, created or "-", isoformat(state.retires) or "-")
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        return "\n".join(
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            for row in rows
        )
    finally:
        await store.close()
