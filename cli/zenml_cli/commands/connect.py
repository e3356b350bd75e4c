"""``zenml connect`` / ``login``, ``zenml disconnect`` / ``logout`` and ``zenml status``."""

from __future__ import annotations

import argparse
from dataclasses import asdict, replace
from datetime import timedelta
from typing import Any

from zenml_cli import device_flow
from zenml_cli.arguments import add_command, non_negative_int
from zenml_cli.client import Client, login_with_api_key
from zenml_cli.commands import connect_oidc
from zenml_cli.config import (
    ENV_STORE_API_KEY,
    ENV_STORE_URL,
    Credentials,
    format_timestamp,
    normalize_url,
    parse_timestamp,
)
from zenml_cli.errors import CLIError, NotConnected
from zenml_cli.output import add_output_option, timestamp, to_json
from zenml_cli.qr import drawing
from zenml_cli.runtime import Runtime
from zenml_cli.transport import ConnectionFailed, send

CURRENT_USER = "/api/v1/current-user"


def register(commands: argparse._SubParsersAction[Any]) -> None:
    connect = add_command(
        commands,
        "connect",
        aliases=["login"],
        help="log in to a ZenML server (browser approval, or an API key)",
        description="Log in to a ZenML server. Without --api-key you approve this device in a "
        "browser (any device: the link and code are printed); with --api-key, or "
        f"{ENV_STORE_API_KEY} set, the key is checked and stored.",
        example=[
            "zenml connect --url https://zenml.example.com",
            "zenml connect --url https://zenml.example.com --api-key ZENKEY_...",
        ],
    )
    connect.add_argument(
        "url_arg", nargs="?", metavar="URL", help="the server's URL (same as --url)"
    )
    connect.add_argument("--url", help="the server's URL, e.g. https://zenml.example.com")
    connect.add_argument("--api-key", help="log in as a service account with this API key")
    connect.add_argument(
        "--no-browser", action="store_true", help="print the approval URL, don't open a browser"
    )
    connect_oidc.add_arguments(connect)
    connect.add_argument(
        "--no-qr",
        action="store_true",
        help="don't draw the approval link as a QR code (drawn on a terminal when segno is "
        "installed: pip install 'zenml-cli[qr]')",
    )
    connect.add_argument(
        "--no-wait",
        action="store_true",
        help="print the link and code and exit; run connect again after approving to finish",
    )
    connect.add_argument(
        "--timeout",
        type=non_negative_int,
        metavar="SECONDS",
        help="stop waiting for approval after this long (default: until the code expires)",
    )
    connect.set_defaults(handler=run_connect)

    disconnect = add_command(
        commands,
        "disconnect",
        aliases=["logout"],
        help="log out: revoke the token and forget the stored credentials",
        example="zenml disconnect",
    )
    disconnect.add_argument("--url", help="the server to log out of (default: the active one)")
    disconnect.set_defaults(handler=run_disconnect)

    status = add_command(
        commands,
        "status",
        help="show which server and user this CLI uses (exit 1 when not connected)",
        example=["zenml status", "zenml status --output json"],
    )
    add_output_option(status)
    status.set_defaults(handler=run_status)


def run_connect(rt: Runtime, args: argparse.Namespace) -> int:
    if args.url and args.url_arg and normalize_url(args.url) != normalize_url(args.url_arg):
        raise CLIError(f"two URLs given ({args.url_arg} and --url {args.url}); give one")
    raw_url = args.url or args.url_arg or rt.env.get(ENV_STORE_URL) or rt.config().active_url
    if not raw_url:
        raise CLIError("which server? give it with --url URL")
    url = normalize_url(raw_url)
    if connect_oidc.wanted(rt, args):
        return connect_oidc.run(rt, url, args)
    api_key = _api_key(rt, args.api_key)
    if api_key is not None:
        return _connect_with_api_key(rt, url, api_key)
    return _connect_with_device(rt, url, args)


def _api_key(rt: Runtime, given: str | None) -> str | None:
    """The key to log in with: --api-key, else ZENML_STORE_API_KEY; an empty one is an error
    (an unset CI secret must fail at once, not fall back to a browser login that never ends)."""
    if given is not None:
        if not given.strip():
            raise CLIError(
                "--api-key is empty (is the secret that should hold it set?); give the key, "
                "or leave out --api-key to approve this device in a browser"
            )
        return given.strip()
    from_env = rt.env.get(ENV_STORE_API_KEY)
    if from_env is not None:
        if not from_env.strip():
            raise CLIError(
                f"{ENV_STORE_API_KEY} is set but empty (is the secret that should hold it "
                "set?); give the key, or unset it to approve this device in a browser"
            )
        return from_env.strip()
    return None


def _connect_with_api_key(rt: Runtime, url: str, api_key: str) -> int:
    token = login_with_api_key(url, api_key, rt.now())
    credentials = Credentials(
        kind="api_key",
        access_token=token.access_token,
        expires_at=token.expires_at,
        api_key=api_key,
    )
    user = Client(url, credentials, config=None, now=rt.now).get(CURRENT_USER)
    credentials.username = _name(user)
    rt.config().store(url, credentials)
    rt.out(f"Connected to {url} as service account {credentials.username} with an API key.")
    rt.out(f"The key is stored in {rt.config().path} (readable only by you).")
    return 0


def _connect_with_device(rt: Runtime, url: str, args: argparse.Namespace) -> int:
    config = rt.config()
    client_id = config.client_id
    authorization = _resumed(rt, url)
    if authorization is None:
        authorization = device_flow.start(url, client_id)
        _show(
            rt,
            authorization,
            open_browser=not args.no_browser and not args.no_wait,
            qr=not args.no_qr and rt.stdout.isatty(),
        )
    else:
        rt.out(f"Finishing the login started earlier (code {authorization.user_code}).")
    if args.no_wait:
        config.set_pending_login(url, _pending(rt, authorization))
        rt.out(f"Not waiting. After approving, run `zenml connect --url {url}` to finish.")
        return 0
    minutes = max(1, round(authorization.expires_in / 60))
    if not (rt.stdin.isatty() or rt.stdout.isatty()):
        rt.out(
            "Notice: no terminal here, so no one may see the code above; waiting for "
            f"approval anyway (up to {minutes} min). In CI use --api-key or "
            f"{ENV_STORE_API_KEY}; --no-wait or --timeout SECONDS limit the wait."
        )
    rt.out(f"Waiting for approval (the code expires in {minutes} min; Ctrl-C to cancel)...")
    rt.stdout.flush()
    try:
        token = device_flow.poll(
            url, client_id, authorization, sleep=rt.sleep, now=rt.now, timeout=args.timeout
        )
    except KeyboardInterrupt:
        _withdraw(rt, url, client_id, authorization)
        raise
    except device_flow.TimedOut as timed_out:
        _withdraw(rt, url, client_id, authorization)
        raise CLIError(
            f"{timed_out.message}; the login request was cancelled and nothing was stored"
        ) from None
    finally:
        config.set_pending_login(url, None)
    credentials = Credentials(
        kind="device",
        access_token=token.access_token,
        expires_at=token.expires_at,
        device_id=token.device_id,
    )
    user = Client(url, credentials, config=None, now=rt.now).get(CURRENT_USER)
    credentials.username = _name(user)
    auth = user.get("auth") if isinstance(user, dict) else None
    if isinstance(auth, dict):
        credentials.device_id = auth.get("device_id") or credentials.device_id
        credentials.expires_at = auth.get("expires") or credentials.expires_at
    config.store(url, credentials)
    rt.out(f"Connected to {url} as {credentials.username}.")
    rt.out(f"This device's login is valid until {timestamp(credentials.expires_at)}.")
    return 0


def _show(
    rt: Runtime, authorization: device_flow.Authorization, *, open_browser: bool, qr: bool
) -> None:
    rt.out("To connect this device, open this URL in a browser and check the code matches:")
    rt.out()
    rt.out(f"    {authorization.verification_uri_complete}")
    rt.out()
    drawn = drawing(authorization.verification_uri_complete, rt.stdout.encoding) if qr else None
    if drawn:
        rt.out("Or scan it with a phone:")
        rt.out(drawn.rstrip("\n"))
        rt.out()
    rt.out(f"    Your code: {authorization.user_code}")
    rt.out()
    if not open_browser:
        rt.out(f"(Or go to {authorization.verification_uri} and enter the code.)")
    elif rt.browser_available() and rt.open_browser(authorization.verification_uri_complete):
        rt.out("Opened your browser. If it did not appear, open the URL above yourself.")
    else:
        rt.out("Could not open a browser here; open the URL above on any device.")


def _withdraw(
    rt: Runtime, url: str, client_id: str, authorization: device_flow.Authorization
) -> None:
    """Cancel the pending authorization on the server, so its code cannot be approved."""
    if device_flow.cancel(url, client_id, authorization):
        rt.out("Cancelled the login request: its code can no longer be approved.")
    else:
        rt.out("Could not cancel the login request on the server; its code expires on its own.")


def _pending(rt: Runtime, authorization: device_flow.Authorization) -> dict[str, Any]:
    expires = rt.now() + timedelta(seconds=authorization.expires_in)
    return {**asdict(authorization), "expires_at": format_timestamp(expires)}


def _resumed(rt: Runtime, url: str) -> device_flow.Authorization | None:
    """The login ``connect --no-wait`` left waiting for ``url``, while its code lasts."""
    pending = rt.config().pending_login(url)
    if pending is None:
        return None
    try:
        left = (parse_timestamp(str(pending.pop("expires_at"))) - rt.now()).total_seconds()
        authorization = device_flow.Authorization(**pending)
    except (KeyError, TypeError, ValueError):
        left, authorization = 0, None
    if authorization is None or left <= authorization.interval:
        rt.config().set_pending_login(url, None)
        return None
    return replace(authorization, expires_in=int(left))


def run_disconnect(rt: Runtime, args: argparse.Namespace) -> int:
    config = rt.config()
    url = normalize_url(args.url) if args.url else config.active_url
    credentials = config.credentials(url) if url else None
    if url is None or credentials is None:
        rt.out("Not connected to a ZenML server; nothing to do.")
        return 0
    revoked = False
    token = credentials.access_token
    if token and credentials.expired(rt.now(), margin_seconds=0):
        rt.out("The stored token had already expired; nothing to revoke.")
    elif token:
        revoked = _revoke(rt, url, token)
    config.forget(url)
    what = "Revoked the token and forgot" if revoked else "Forgot"
    rt.out(f"{what} the credentials for {url}.")
    if credentials.kind == "api_key":
        rt.out(
            "The API key itself still works: to revoke it, deactivate or rotate it "
            "(zenml service-account api-key update|rotate)."
        )
    return 0


def _revoke(rt: Runtime, url: str, token: str) -> bool:
    """Ask the server to revoke ``token`` (RFC 7009), then check that it is refused: a 200
    alone says nothing (the server answers 200 for tokens it does not revoke)."""
    try:
        answer = send("POST", url + "/api/v1/revoke", form={"token": token})
        if answer.status != 200:
            rt.err(f"Warning: the server did not revoke the token (HTTP {answer.status}).")
            return False
        check = send("GET", url + CURRENT_USER, token=token)
    except ConnectionFailed as failure:
        rt.err(f"Warning: could not revoke the token ({failure.message}).")
        return False
    if check.status != 401:
        rt.err(
            "Warning: the server accepted the revocation but the token still works "
            "(an older server revokes only device tokens); it stops working when it expires."
        )
        return False
    return True


def run_status(rt: Runtime, args: argparse.Namespace) -> int:
    """Exit 0 and describe the login when connected; exit 1 when not (as `gh auth status`)."""
    try:
        client = rt.client()
    except NotConnected:
        if args.output == "json":
            rt.out(to_json({"connected": False}))
        else:
            rt.out("Not connected to a ZenML server. Run `zenml connect --url URL`.")
        return 1
    user = client.get(CURRENT_USER)
    auth = user.get("auth") if isinstance(user, dict) else None
    auth = auth if isinstance(auth, dict) else {}
    creds = client.credentials
    method = str(auth.get("method") or creds.kind)
    role = "admin" if user.get("is_admin") else "user"
    if user.get("is_service_account"):
        role = "service account"
    summary = {
        "connected": True,
        "server": client.url,
        "user": _name(user),
        "role": role,
        "auth_method": method,
        "device_id": auth.get("device_id") or creds.device_id,
        "token_expires": auth.get("expires") or creds.expires_at,
        "credentials": "stored" if client.stored else "environment",
    }
    if args.output == "json":
        rt.out(to_json(summary))
        return 0
    lines = [
        ("Server", client.url),
        ("User", summary["user"]),
        ("Role", role),
        ("Auth method", method),
        ("Device id", str(summary["device_id"] or "-")),
        ("Token expires", timestamp(summary["token_expires"])),
    ]
    if not client.stored:
        lines.append(("Credentials", "from the environment"))
    width = max(len(label) for label, _ in lines) + 1
    for label, value in lines:
        rt.out(f"{(label + ':').ljust(width)} {value}")
    return 0


def _name(user: Any) -> str:
    if isinstance(user, dict) and isinstance(user.get("name"), str):
        return str(user["name"])
    raise CLIError("the server's answer to GET /api/v1/current-user has no user name")
