"""``zenml authorized-device`` (also ``devices`` and ``device``): see, lock and approve devices."""

from __future__ import annotations

import argparse
import uuid
from collections.abc import Sequence
from typing import Any

from zenml_cli.arguments import add_command, add_group, boolean
from zenml_cli.client import Client, quote
from zenml_cli.errors import CLIError
from zenml_cli.output import Column, add_output_option, field, record, table, time_field, to_json
from zenml_cli.runtime import Runtime

DEVICES = "/api/v1/devices"
DEVICE_ID_HELP = "the device's id, or a unique prefix of it (see `zenml authorized-device list`)"

LIST_COLUMNS: Sequence[Column] = (
    ("ID", field("id")),
    ("STATUS", field("status")),
    ("TRUSTED", field("trusted_device")),
    ("HOSTNAME", field("hostname")),
    ("OS", field("os")),
    ("USER", field("user")),
    ("LAST USED", time_field("last_login")),
    ("EXPIRES", time_field("expires")),
)

DESCRIBE_COLUMNS: Sequence[Column] = (
    ("ID", field("id")),
    ("Status", field("status")),
    ("Trusted", field("trusted_device")),
    ("User", field("user")),
    ("Hostname", field("hostname")),
    ("OS", field("os")),
    ("Python", field("python_version")),
    ("Client version", field("client_version")),
    ("IP address", field("ip_address")),
    ("Client id", field("client_id")),
    ("Created", time_field("created")),
    ("Updated", time_field("updated")),
    ("Last used", time_field("last_login")),
    ("Expires", time_field("expires")),
    ("Failed logins", field("failed_auth_attempts")),
)


def register(commands: argparse._SubParsersAction[Any]) -> None:
    _, sub = add_group(
        commands,
        "authorized-device",
        aliases=["devices", "device"],
        help="list, inspect, lock, unlock, delete or approve the devices you logged in from",
        example=["zenml authorized-device list", "zenml authorized-device lock 4f1c2a9e"],
    )

    listing = add_command(
        sub,
        "list",
        help="list your devices (all devices for an admin)",
        example=["zenml authorized-device list", "zenml devices list --status locked"],
    )
    listing.add_argument(
        "--status",
        choices=("pending", "verified", "active", "locked", "denied", "expired"),
        help="only devices in this state",
    )
    listing.add_argument(
        "--trusted", type=boolean, metavar="true|false", help="only trusted (or untrusted) ones"
    )
    add_output_option(listing)
    listing.set_defaults(handler=run_list)

    describe = add_command(
        sub,
        "describe",
        help="show one device",
        example="zenml authorized-device describe 4f1c2a9e",
    )
    describe.add_argument("device_id", metavar="DEVICE_ID", help=DEVICE_ID_HELP)
    add_output_option(describe)
    describe.set_defaults(handler=run_describe)

    for action, help_text in (
        ("lock", "lock a device: its token stops working at once"),
        ("unlock", "unlock a locked device"),
    ):
        parser = add_command(
            sub, action, help=help_text, example=f"zenml authorized-device {action} 4f1c2a9e"
        )
        parser.add_argument("device_id", metavar="DEVICE_ID", help=DEVICE_ID_HELP)
        if action == "lock":
            parser.add_argument(
                "--yes",
                "-y",
                action="store_true",
                help="don't ask when it is the device this CLI is logged in with",
            )
        parser.set_defaults(handler=run_lock, locked=action == "lock", yes=False)

    delete = add_command(
        sub,
        "delete",
        help="delete a device; it must log in again",
        example="zenml authorized-device delete 4f1c2a9e --yes",
    )
    delete.add_argument("device_id", metavar="DEVICE_ID", help=DEVICE_ID_HELP)
    delete.add_argument("--yes", "-y", action="store_true", help="don't ask for confirmation")
    delete.set_defaults(handler=run_delete)

    approve = add_command(
        sub,
        "approve",
        help="approve a pending login by its code, after showing who asks and from where",
        example=[
            "zenml authorized-device approve WDJB-MJHT",
            "zenml authorized-device approve WDJB-MJHT --trust --yes",
        ],
    )
    approve.add_argument(
        "user_code", metavar="CODE", help="the code the other device shows, e.g. WDJB-MJHT"
    )
    approve.add_argument("--trust", action="store_true", help="trust the device (30-day token)")
    approve.add_argument(
        "--yes",
        "-y",
        action="store_true",
        help="approve without asking (scripts); without a terminal this is required",
    )
    add_output_option(approve)
    approve.set_defaults(handler=run_approve)


def match_prefix(prefix: str, ids: Sequence[str], what: str = "device") -> str:
    """The one id in ``ids`` that starts with ``prefix`` (case-insensitive).

    Raises CLIError naming the candidates when there are several, and when there is none.
    """
    wanted = prefix.strip().lower()
    if not wanted:
        raise CLIError(f"give a {what} id")
    exact = [i for i in ids if i.lower() == wanted]
    if exact:
        return exact[0]
    found = [i for i in ids if i.lower().startswith(wanted)]
    if not found:
        raise CLIError(f"no {what} id starts with {prefix!r}")
    if len(found) > 1:
        raise CLIError(
            f"{prefix!r} matches {len(found)} {what}s ({', '.join(sorted(found))}); "
            "give more of the id"
        )
    return found[0]


def resolve_device(client: Client, device_id: str) -> dict[str, Any]:
    """The device whose id is ``device_id`` or starts with it."""
    try:
        full_id = str(uuid.UUID(device_id))
    except ValueError:
        devices = list(client.paginate(DEVICES))
        full_id = match_prefix(device_id, [str(d.get("id")) for d in devices])
        return next(d for d in devices if str(d.get("id")) == full_id)
    device: dict[str, Any] = client.get(f"{DEVICES}/{quote(full_id)}")
    return device


def run_list(rt: Runtime, args: argparse.Namespace) -> int:
    devices = list(rt.client().paginate(DEVICES, status=args.status, trusted_device=args.trusted))
    if args.output == "json":
        rt.out(to_json(devices))
    elif not devices:
        rt.out("No devices.")
    else:
        rt.out(table(devices, LIST_COLUMNS))
    return 0


def run_describe(rt: Runtime, args: argparse.Namespace) -> int:
    device = resolve_device(rt.client(), args.device_id)
    rt.out(to_json(device) if args.output == "json" else record(device, DESCRIBE_COLUMNS))
    return 0


def run_lock(rt: Runtime, args: argparse.Namespace) -> int:
    client = rt.client()
    device = resolve_device(client, args.device_id)
    mine = client.credentials.kind == "device" and client.credentials.device_id == device["id"]
    if args.locked and mine and not args.yes:
        rt.err(
            f"Device {_label(device)} is the one this CLI is logged in with: locking it logs "
            "this CLI out, and only a login from elsewhere can unlock it."
        )
        if not rt.confirm("Lock it anyway?"):
            raise CLIError("not locked")
    updated = client.put(f"{DEVICES}/{quote(device['id'])}", {"locked": args.locked})
    if args.locked:
        rt.out(f"Locked device {_label(updated)}: its token no longer works.")
        if mine:
            rt.out("This CLI is logged out; run `zenml connect` to log in again as a new device.")
    else:
        rt.out(f"Unlocked device {_label(updated)} (status: {updated.get('status', '-')}).")
    return 0


def run_delete(rt: Runtime, args: argparse.Namespace) -> int:
    client = rt.client()
    device = resolve_device(client, args.device_id)
    if not args.yes and not rt.confirm(f"Delete device {_label(device)}?"):
        raise CLIError("not deleted")
    client.delete(f"{DEVICES}/{quote(device['id'])}")
    rt.out(f"Deleted device {_label(device)}.")
    return 0


def run_approve(rt: Runtime, args: argparse.Namespace) -> int:
    """Show what approving would authorize (RFC 8628 §5.4), ask y/N, then approve."""
    if not args.yes and not rt.stdin.isatty():
        raise CLIError(
            "approving a device needs a confirmation: run this in a terminal, "
            "or add --yes if a script has checked the code"
        )
    client = rt.client()
    if not args.yes:
        facts = client.post(f"{DEVICES}/verify/preview", {"user_code": args.user_code})
        rt.out(describe_approval(facts, trust=args.trust))
        if not rt.confirm("Approve this device?"):
            raise CLIError("not approved")
    device = client.post(
        f"{DEVICES}/verify", {"user_code": args.user_code, "trusted_device": args.trust}
    )
    if args.output == "json":
        rt.out(to_json(device))
    else:
        trust = " as trusted" if args.trust else ""
        rt.out(f"Approved device {_label(device)}{trust}.")
    return 0


def describe_approval(facts: Any, *, trust: bool) -> str:
    """The facts a person checks before approving, as the approval page shows them."""
    if not isinstance(facts, dict) or not isinstance(facts.get("device"), dict):
        raise CLIError("the server's answer does not describe the device")
    device, who = facts["device"], facts.get("approver", "?")
    seen = (
        "has logged in to this account before"
        if facts.get("seen_before")
        else ("has NEVER logged in to this account before")
    )
    lines = [
        f"You are {who}: if you approve, this device gets {who}'s full access.",
        f"  Requested from:  {facts.get('requested_from') or 'unknown'}",
        f"  You are at:      {facts.get('approver_address') or 'unknown'}",
        f"  This computer:   {seen}",
        "  Reported by the device (it could say anything):",
        f"    Host:    {device.get('hostname') or 'unknown'}",
        f"    OS:      {device.get('os') or 'unknown'}",
        f"    Client:  {device.get('client_name') or 'unknown'}",
    ]
    if facts.get("addresses_differ"):
        lines.append(
            "WARNING: the request came from a different network address than yours. If you "
            "did not start this login yourself on that computer, answer no."
        )
    if trust:
        lines.append("It will be trusted: it stays logged in longer (30 days by default).")
    return "\n".join(lines)


def _label(device: Any) -> str:
    if not isinstance(device, dict):
        return "-"
    host = device.get("hostname")
    return f"{device.get('id')} ({host})" if host else str(device.get("id"))
