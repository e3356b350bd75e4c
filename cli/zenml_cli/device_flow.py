"""The client half of the OAuth 2.0 device authorization grant (RFC 8628).

``start`` asks for a code (§3.1-3.2); ``poll`` asks for the token every ``interval`` seconds
(§3.4-3.5) until the user approves or denies in the browser. ``sleep`` and ``now`` are passed in
so tests drive the loop without waiting.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from zenml_cli.client import LOGIN_PATH, Token, oauth_error, token_from_login
from zenml_cli.errors import CLIError
from zenml_cli.transport import ConnectionFailed, Response, raise_for_status, send

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
SLOW_DOWN_SECONDS = 5  # RFC 8628 §3.5
MAX_BACKOFF_SECONDS = 60.0
CANCEL_PATH = "/api/v1/device_authorization/cancel"
CANCEL_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class Authorization:
    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_in: int
    interval: int


def start(url: str, client_id: str) -> Authorization:
    """``POST /api/v1/device_authorization``: a device code and the code the user confirms."""
    response = send("POST", url + "/api/v1/device_authorization", form={"client_id": client_id})
    raise_for_status(response)
    body: Any = response.json()
    try:
        return Authorization(
            device_code=str(body["device_code"]),
            user_code=str(body["user_code"]),
            verification_uri=str(body["verification_uri"]),
            verification_uri_complete=str(
                body.get("verification_uri_complete") or body["verification_uri"]
            ),
            expires_in=int(body.get("expires_in") or 300),
            interval=max(1, int(body.get("interval") or 5)),
        )
    except (KeyError, TypeError, ValueError):
        raise CLIError("the server's device authorization answer is incomplete") from None


def poll(
    url: str,
    client_id: str,
    authorization: Authorization,
    *,
    sleep: Callable[[float], None],
    now: Callable[[], datetime],
    timeout: float | None = None,
) -> Token:
    """Poll the token endpoint until the device is approved; raise CLIError when it never is.

    ``slow_down`` adds 5 s to the interval for good (§3.5). A failed connection or any 5xx (a
    stray 500 included: the approval may well have gone through) doubles the wait each time, up
    to a minute, and gives up when the code has expired.
    With ``timeout`` (seconds), raises TimedOut once that much time has passed unapproved.
    """
    interval = float(authorization.interval)
    deadline = now() + timedelta(seconds=authorization.expires_in)
    give_up = None if timeout is None else now() + timedelta(seconds=timeout)
    form = {
        "grant_type": DEVICE_CODE_GRANT,
        "client_id": client_id,
        "device_code": authorization.device_code,
    }
    wait = interval
    failures = 0
    while True:
        if give_up is not None and now() + timedelta(seconds=wait) > give_up:
            raise TimedOut(f"no approval within {_seconds(timeout)}")
        sleep(wait)
        try:
            response: Response | None = send("POST", url + LOGIN_PATH, form=form)
        except ConnectionFailed as failure:
            if now() >= deadline:
                raise CLIError(f"gave up waiting for approval: {failure.message}") from None
            response = None
        if response is None or (response.status >= 500 and now() < deadline):
            failures += 1
            wait = min(interval * 2**failures, MAX_BACKOFF_SECONDS)
            continue
        failures = 0
        wait = interval
        if response.status == 200:
            return token_from_login(response.json(), now())
        if response.status != 400:
            raise_for_status(response)
            raise CLIError(f"unexpected answer from the server: HTTP {response.status}")
        error, description = oauth_error(response)
        if error == "authorization_pending":
            continue
        if error == "slow_down":
            interval += SLOW_DOWN_SECONDS
            wait = interval
            continue
        raise CLIError(_refusal(error, description))


def _seconds(value: float | None) -> str:
    seconds = int(value or 0)
    return f"{seconds // 60} min" if seconds >= 120 and seconds % 60 == 0 else f"{seconds} s"


class TimedOut(CLIError):
    """``--timeout`` passed before anyone approved the login."""


def cancel(url: str, client_id: str, authorization: Authorization) -> bool:
    """Withdraw a pending authorization so its code can no longer be approved.

    ``POST /api/v1/device_authorization/cancel``; True when the server answered 200 (also when
    there was nothing left to cancel). Never raises: it runs while the CLI is giving up.
    """
    form = {"client_id": client_id, "device_code": authorization.device_code}
    try:
        response = send("POST", url + CANCEL_PATH, form=form, timeout=CANCEL_TIMEOUT_SECONDS)
    except CLIError:
        return False
    return response.status == 200


def _refusal(error: str, description: str) -> str:
    """One sentence per way a device login can end without a token: what happened, what next."""
    text = description.lower()
    if error == "access_denied":
        if "wrong code" in text:
            return (
                "this login request was locked after too many wrong codes were typed in the "
                "browser; run `zenml connect` again for a new code"
            )
        if "locked" in text:
            who = description.rstrip(".")
            return f"{who}; nothing was stored. Ask whoever locked it, or an admin, to unlock it"
        if "not active" in text:
            return "the user who approved this login is deactivated; ask an admin"
        return (
            "the login was denied in the browser; nothing was stored. "
            "Run `zenml connect` again if that was a mistake"
        )
    if error == "expired_token":
        return "the code expired before it was approved; run `zenml connect` again"
    if error == "invalid_grant":
        return (
            "the server no longer knows this login request (it expired, was cancelled or was "
            "used); run `zenml connect` again"
        )
    detail = f" ({description})" if description else ""
    return f"the server refused the login: {error or 'unknown error'}{detail}"
