"""``zenml connect`` / ``login``, ``zenml disconnect`` / ``logout`` and ``zenml status``."""

from __future__ import annotations

import argparse
from typing import Any

from zenml_cli import device_flow
from zenml_cli.client import Client, login_with_api_key
from zenml_cli.config import ENV_STORE_URL, Credentials, normalize_url
from zenml_cli.errors import CLIError, NotConnected
from zenml_cli.output import timestamp
from zenml_cli.runtime import Runtime
from zenml_cli.transport import ConnectionFailed, send

CURRENT_USER = "/api/v1/current-user"


def register(commands: argparse._SubParsersAction[Any]) -> None:
    connect = commands.add_parser(
        "connect",
        aliases=["login"],
        help="log in to a ZenML server (browser approval, or an API key)",
        description="Log in to a ZenML server. Without --api-key you approve this device in a "
        "browser; with --api-key the key is checked and stored.",
    )
    connect.add_argument("url_arg", nargs="?", metavar="URL", help="the server's URL")
    connect.add_argument("--url", help="the server's URL, e.g. https://zenml.example.com")
    connect.add_argument("--api-key", help="log in as a service account with this API key")
    connect.add_argument(
        "--no-browser", action="store_true", help="print the approval URL, don't open a browser"
    )
    connect.set_defaults(handler=run_connect)

    disconnect = commands.add_parser(
        "disconnect",
        aliases=["logout"],
        help="log out: revoke the token and forget the stored credentials",
    )
    disconnect.add_argument("--url", help="the server to log out of (default: the active one)")
    disconnect.set_defaults(handler=run_disconnect)

    status = commands.add_parser("status", help="show which server and user this CLI uses")
    status.set_defaults(handler=run_status)


def run_connect(rt: Runtime, args: argparse.Namespace) -> int:
    if args.url and args.url_arg and normalize_url(args.url) != normalize_url(args.url_arg):
        raise CLIError(f"two URLs given ({args.url_arg} and --url {args.url}); give one")
    raw_url = args.url or args.url_arg or rt.env.get(ENV_STORE_URL) or rt.config().active_url
    if not raw_url:
        raise CLIError("which server? give it with --url URL")
    url = normalize_url(raw_url)
    if args.api_key:
        return _connect_with_api_key(rt, url, args.api_key)
    return _connect_with_device(rt, url, open_browser=not args.no_browser)


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


def _connect_with_device(rt: Runtime, url: str, *, open_browser: bool) -> int:
    client_id = rt.config().client_id
    authorization = device_flow.start(url, client_id)
    rt.out("To connect this device, open this URL in a browser and check the code matches:")
    rt.out()
    rt.out(f"    {authorization.verification_uri_complete}")
    rt.out()
    rt.out(f"    Your code: {authorization.user_code}")
    rt.out()
    if not open_browser:
        rt.out(f"(Or go to {authorization.verification_uri} and enter the code.)")
    elif rt.browser_available() and rt.open_browser(authorization.verification_uri_complete):
        rt.out("Opened your browser. If it did not appear, open the URL above yourself.")
    else:
        rt.out("Could not open a browser here; open the URL above on any device.")
    minutes = max(1, round(authorization.expires_in / 60))
    rt.out(f"Waiting for approval (the code expires in {minutes} min; Ctrl-C to cancel)...")
    rt.stdout.flush()
    token = device_flow.poll(url, client_id, authorization, sleep=rt.sleep, now=rt.now)
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
    rt.config().store(url, credentials)
    rt.out(f"Connected to {url} as {credentials.username}.")
    rt.out(f"This device's login is valid until {timestamp(credentials.expires_at)}.")
    return 0


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
    try:
        client = rt.client()
    except NotConnected:
        rt.out("Not connected to a ZenML server. Run `zenml connect --url URL`.")
        return 0
    user = client.get(CURRENT_USER)
    auth = user.get("auth") if isinstance(user, dict) else None
    auth = auth if isinstance(auth, dict) else {}
    creds = client.credentials
    expires = auth.get("expires") or creds.expires_at
    lines = [
        ("Server", client.url),
        ("User", _name(user) + (" (admin)" if user.get("is_admin") else "")),
        ("Auth method", str(auth.get("method") or creds.kind)),
        ("Device id", str(auth.get("device_id") or creds.device_id or "-")),
        ("Token expires", timestamp(expires)),
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
