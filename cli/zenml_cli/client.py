"""Talk to the server's API with a bearer token, logging in again when a token runs out.

A token from an API key (or from the local server's admin password) is refreshed when it has
expired and, once per request, when the server answers 401. A device token cannot be refreshed:
the user has to approve the device again with ``zenml connect``.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from zenml_cli import oidc
from zenml_cli.config import Config, Credentials, format_timestamp
from zenml_cli.errors import ApiError, CLIError
from zenml_cli.transport import Response, raise_for_status, send

LOGIN_PATH = "/api/v1/login"
PAGE_SIZE = 100


@dataclass(frozen=True)
class Token:
    access_token: str
    expires_at: str | None
    device_id: str | None = None


def token_from_login(body: Any, now: datetime) -> Token:
    """Read an OAuth token response (RFC 6749 §5.1); ``expires_in`` becomes an absolute time."""
    if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
        raise CLIError("the server's login answer carries no access_token")
    expires_in = body.get("expires_in")
    expires_at = None
    if isinstance(expires_in, int | float):
        expires_at = format_timestamp(now + timedelta(seconds=expires_in))
    device_id = body.get("device_id")
    return Token(
        body["access_token"], expires_at, device_id if isinstance(device_id, str) else None
    )


def oauth_error(response: Response) -> tuple[str, str]:
    """``(error, error_description)`` from an RFC 6749 §5.2 error answer (empty when absent)."""
    try:
        body = response.json()
    except CLIError:
        body = None
    if not isinstance(body, dict):
        return "", ""
    return str(body.get("error") or ""), str(body.get("error_description") or "")


def login_with_api_key(url: str, api_key: str, now: datetime) -> Token:
    """Exchange an API key for a short-lived token (grant_type=zenml-api-key)."""
    form = {"grant_type": "zenml-api-key", "password": api_key}
    return _login(url, form, now, refused="the server rejected the API key")


def login_with_password(url: str, username: str, password: str, now: datetime) -> Token:
    """Log in with a username and password (grant_type=password, RFC 6749 §4.3)."""
    form = {"grant_type": "password", "username": username, "password": password}
    return _login(url, form, now, refused="the server rejected the username or password")


def login_with_form(url: str, form: dict[str, str], now: datetime, *, refused: str) -> Token:
    """POST a token request; a 400/401 becomes one line starting with ``refused``."""
    return _login(url, form, now, refused=refused)


def _login(url: str, form: dict[str, str], now: datetime, *, refused: str) -> Token:
    response = send("POST", url + LOGIN_PATH, form=form)
    if response.status in (400, 401):
        _, description = oauth_error(response)
        raise CLIError(f"{refused}: {description}" if description else refused)
    raise_for_status(response)
    return token_from_login(response.json(), now)


class Client:
    """The API of one server, as one user. ``config`` is None when nothing may be stored."""

    def __init__(
        self,
        url: str,
        credentials: Credentials,
        *,
        config: Config | None,
        now: Callable[[], datetime],
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.url = url
        self.credentials = credentials
        self._config = config
        self._now = now
        self._env = env or {}

    @property
    def stored(self) -> bool:
        """False when the credentials came from the environment and live only in memory."""
        return self._config is not None

    @property
    def refreshable(self) -> bool:
        return (
            (self.credentials.kind == "api_key" and bool(self.credentials.api_key))
            or (self.credentials.kind == "password" and bool(self.credentials.password))
            or self.credentials.kind == "oidc"
        )

    def _refresh(self) -> None:
        creds = self.credentials
        if creds.kind == "api_key" and creds.api_key:
            token = login_with_api_key(self.url, creds.api_key, self._now())
        elif creds.kind == "password" and creds.username and creds.password:
            token = login_with_password(self.url, creds.username, creds.password, self._now())
        elif creds.kind == "oidc":
            # The platform's token is read (or fetched) again: it may have been rotated.
            access_token, expires_at = oidc.login_with_oidc(self.url, creds, self._env, self._now())
            token = Token(access_token, expires_at)
        else:
            return
        creds.access_token = token.access_token
        creds.expires_at = token.expires_at
        if self._config is not None:
            self._config.store(self.url, creds, activate=False)

    def token(self) -> str:
        """A token that has not expired yet, logging in again if the credentials allow it."""
        if self.credentials.expired(self._now()):
            if not self.refreshable:
                raise CLIError(
                    f"your login to {self.url} has expired; "
                    f"run `zenml connect --url {self.url}` again"
                )
            self._refresh()
        assert self.credentials.access_token is not None
        return self.credentials.access_token

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, str | int | bool | None] | None = None,
    ) -> Any:
        """Send an authenticated request; return the decoded JSON (None for an empty body)."""
        url = self.url + path
        query = {k: _query_value(v) for k, v in (params or {}).items() if v is not None}
        if query:
            url += "?" + urllib.parse.urlencode(query)
        response = send(method, url, json_body=json_body, token=self.token())
        if response.status == 401 and self.refreshable:
            self._refresh()
            response = send(method, url, json_body=json_body, token=self.token())
        if response.status == 401:
            try:
                raise_for_status(response)
            except ApiError as error:
                if "locked" in error.message:
                    raise ApiError(
                        f"{error.message.rstrip('.')}, so {self.url} refuses this CLI's login; "
                        "unlock it from another login (`zenml authorized-device unlock ID`) or "
                        f"run `zenml connect --url {self.url}` to log in as a new device",
                        status=401,
                        code=error.code,
                    ) from None
                raise ApiError(
                    f"the server refused your credentials ({error.message}); "
                    f"run `zenml connect --url {self.url}` again",
                    status=401,
                    code=error.code,
                ) from None
        raise_for_status(response)
        return response.json()

    def get(self, path: str, **params: str | int | bool | None) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Any) -> Any:
        return self.request("POST", path, json_body=body)

    def put(self, path: str, body: Any) -> Any:
        return self.request("PUT", path, json_body=body)

    def delete(self, path: str) -> None:
        self.request("DELETE", path)

    def paginate(self, path: str, **params: str | int | bool | None) -> Iterator[dict[str, Any]]:
        """Every item of a paged list (``{items, total, page, size}``), page after page."""
        page = 1
        seen = 0
        while True:
            body = self.get(path, **params, page=page, size=PAGE_SIZE)
            if not isinstance(body, dict) or not isinstance(body.get("items"), list):
                raise CLIError(f"the server's answer to GET {path} is not a page of items")
            items = body["items"]
            yield from items
            seen += len(items)
            total = body.get("total")
            if not items or not isinstance(total, int) or seen >= total:
                return
            page += 1


def quote(segment: str) -> str:
    """One path segment (a name or id), percent-encoded."""
    return urllib.parse.quote(segment, safe="")


def _query_value(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
