"""``zenml audit list``: the server's audit trail (admins only), newest first."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from zenml_cli.arguments import add_command, add_group
from zenml_cli.errors import CLIError
from zenml_cli.output import Column, add_output_option, field, table, time_field, to_json
from zenml_cli.runtime import Runtime

AUDIT = "/api/v1/audit"
PAGE_LIMIT = 500


def _limit(raw: str) -> int:
    if not raw.isdigit() or int(raw) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1, got {raw!r}")
    return int(raw)


def _actor(event: dict[str, Any]) -> str:
    actor = event.get("actor") or {}
    name = actor.get("name") or actor.get("kind") or "-"
    credential = actor.get("credential")
    return f"{name} ({credential})" if credential else str(name)


def _target(event: dict[str, Any]) -> str:
    target = event.get("target")
    if not isinstance(target, dict):
        return "-"
    return f"{target.get('kind')} {target.get('name') or target.get('id')}"


LIST_COLUMNS: Sequence[Column] = (
    ("TIME", time_field("time")),
    ("ACTION", field("action")),
    ("OUTCOME", field("outcome")),
    ("ACTOR", _actor),
    ("TARGET", _target),
    ("ADDRESS", field("client_ip")),
    ("REQUEST", field("request_id")),
)


def register(commands: argparse._SubParsersAction[Any]) -> None:
    _, sub = add_group(
        commands,
        "audit",
        help="read the server's audit trail (admins only)",
        example=["zenml audit list --action device. --since 2026-12-01T00:00:00Z"],
    )
    listing = add_command(
        sub,
        "list",
        help="list security events, newest first",
        example="zenml audit list --actor alice --limit 20 --output json",
    )
    listing.add_argument("--actor", help="only events by this user or service account (name or id)")
    listing.add_argument(
        "--action", help="only this action, or actions starting with it when it ends in '.'"
    )
    listing.add_argument("--target", help="only events about this target (name or id)")
    listing.add_argument("--since", metavar="TIME", help="only events at or after this ISO time")
    listing.add_argument("--until", metavar="TIME", help="only events before this ISO time")
    listing.add_argument(
        "--limit", type=_limit, default=100, help="at most this many events (default 100)"
    )
    add_output_option(listing)
    listing.set_defaults(handler=run_list)


def run_list(rt: Runtime, args: argparse.Namespace) -> int:
    client = rt.client()
    events: list[dict[str, Any]] = []
    cursor: str | None = None
    while len(events) < args.limit:
        body = client.get(
            AUDIT,
            actor=args.actor,
            action=args.action,
            target=args.target,
            since=args.since,
            until=args.until,
            limit=min(PAGE_LIMIT, args.limit - len(events)),
            cursor=cursor,
        )
        if not isinstance(body, dict) or not isinstance(body.get("items"), list):
            raise CLIError(f"the server's answer to GET {AUDIT} is not a page of events")
        events.extend(body["items"])
        cursor = body.get("next_cursor")
        if not isinstance(cursor, str):
            break
    if args.output == "json":
        rt.out(to_json(events))
    elif not events:
        rt.out("No audit events match.")
    else:
        rt.out(table(events, LIST_COLUMNS))
    return 0
