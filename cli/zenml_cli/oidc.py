"""Keyless login: trade the platform's OIDC token for a short-lived server token (RFC 8693).

Where the platform's token comes from, in this order:
- a file (``--oidc-token-file`` / ``ZENML_STORE_OIDC_TOKEN_FILE``), read again at every
  refresh, as Kubernetes rotates projected service account tokens in place;
- ``ZENML_STORE_OIDC_TOKEN`` (one token: the server accepts each subject token once);
- GitHub Actions, when ``ACTIONS_ID_TOKEN_REQUEST_URL`` and ``ACTIONS_ID_TOKEN_REQUEST_TOKEN``
  are set (the job has ``permissions: id-token: write``): a fresh token for the audience
  at every refresh.
Nothing but the path or the audience is ever stored; never the platform's token.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from zenml_cli.config import Credentials
from zenml_cli.errors import CLIError
from zenml_cli.transport import send

ENV_OIDC_TOKEN = "ZENML_STORE_OIDC_TOKEN"  # noqa: S105 - a variable name
ENV_OIDC_TOKEN_FILE = "ZENML_STORE_OIDC_TOKEN_FILE"  # noqa: S105 - a variable name
ENV_OIDC_AUDIENCE = "ZENML_STORE_OIDC_AUDIENCE"
GITHUB_REQUEST_URL = "ACTIONS_ID_TOKEN_REQUEST_URL"
GITHUB_REQUEST_TOKEN = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"  # noqa: S105 - a variable name
GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt"
_MAX_TOKEN = 16_384


def on_github_actions(env: Mapping[str, str]) -> bool:
    return bool(env.get(GITHUB_REQUEST_URL) and env.get(GITHUB_REQUEST_TOKEN))


def from_environment(env: Mapping[str, str]) -> Credentials | None:
    """OIDC credentials named by the environment (with ``ZENML_STORE_URL``), or None."""
    token_file = env.get(ENV_OIDC_TOKEN_FILE, "").strip()
    if token_file:
        return Credentials(kind="oidc", oidc_token_file=token_file)
    if env.get(ENV_OIDC_TOKEN, "").strip():
        return Credentials(kind="oidc", oidc_token_env=ENV_OIDC_TOKEN)
    audience = env.get(ENV_OIDC_AUDIENCE, "").strip()
    if audience and on_github_actions(env):
        return Credentials(kind="oidc", oidc_audience=audience)
    return None


def subject_token(credentials: Credentials, env: Mapping[str, str]) -> str:
    """The platform's token now: read from its file or variable, or fetched from GitHub."""
    if credentials.oidc_token_file:
        path = Path(credentials.oidc_token_file).expanduser()
        try:
            token = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise CLIError(f"cannot read the OIDC token file {path}: {exc.strerror}") from None
        if not token:
            raise CLIError(f"the OIDC token file {path} is empty")
    elif credentials.oidc_token_env:
        token = env.get(credentials.oidc_token_env, "").strip()
        if not token:
            raise CLIError(f"{credentials.oidc_token_env} is empty")
    elif credentials.oidc_audience:
        token = github_actions_token(env, credentials.oidc_audience)
    else:
        raise CLIError("no OIDC token source: give --oidc-token-file or --oidc-audience")
    if len(token) > _MAX_TOKEN:
        raise CLIError("the OIDC token is too large to be a JWT")
    return token


def github_actions_token(env: Mapping[str, str], audience: str) -> str:
    """Ask GitHub Actions for an ID token for ``audience``."""
    if not on_github_actions(env):
        raise CLIError(
            f"{GITHUB_REQUEST_URL} and {GITHUB_REQUEST_TOKEN} are not set: run inside a GitHub "
            "Actions job with `permissions: id-token: write`, or give --oidc-token-file"
        )
    url = env[GITHUB_REQUEST_URL]
    if not url.startswith(("https://", "http://")):
        raise CLIError(f"{GITHUB_REQUEST_URL} is not an http(s) URL")
    separator = "&" if urllib.parse.urlsplit(url).query else "?"
    url += separator + urllib.parse.urlencode({"audience": audience})
    answer = send("GET", url, token=env[GITHUB_REQUEST_TOKEN])
    body = answer.json() if answer.status == 200 else None
    value = body.get("value") if isinstance(body, dict) else None
    if not isinstance(value, str) or not value:
        raise CLIError(f"GitHub Actions did not give an ID token (HTTP {answer.status})")
    return value


def login_with_oidc(
    url: str, credentials: Credentials, env: Mapping[str, str], now: datetime
) -> tuple[str, str | None]:
    """Exchange the platform's current token; return (access token, expiry)."""
    from zenml_cli.client import login_with_form

    form = {
        "grant_type": GRANT,
        "subject_token": subject_token(credentials, env),
        "subject_token_type": JWT_TYPE,
    }
    token = login_with_form(url, form, now, refused="the server did not trust the OIDC token")
    return token.access_token, token.expires_at
