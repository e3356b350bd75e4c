"""The CLI's configuration file: installation id, credentials per server URL, active server.

Everything lives in one JSON file, ``config.json``, in ``$ZENML_CONFIG_PATH`` (default
``~/.config/zenml``). The directory is created ``0700`` and the file is written ``0600``,
atomically (a temporary file in the same directory, then ``os.replace``), because it holds
bearer tokens and API keys.
"""

from __future__ import annotations

import json
import os
import tempfile
import urllib.parse
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from zenml_cli.errors import CLIError

CONFIG_FILE = "config.json"
ENV_CONFIG_PATH = "ZENML_CONFIG_PATH"
ENV_STORE_URL = "ZENML_STORE_URL"
ENV_STORE_API_KEY = "ZENML_STORE_API_KEY"

CredentialKind = Literal["device", "api_key", "password", "oidc"]


def default_config_dir(env: Mapping[str, str]) -> Path:
    """``$ZENML_CONFIG_PATH`` if set, else ``~/.config/zenml``."""
    configured = env.get(ENV_CONFIG_PATH)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".config" / "zenml"


def normalize_url(url: str) -> str:
    """The key credentials are stored under: ``scheme://host[:port]``, no trailing slash.

    Raises CLIError naming what is wrong with the URL itself: no http(s) scheme, no host,
    brackets that do not close, a port outside 1-65535, a user name or password in it, or a
    path, query or fragment (the server's base URL has none).
    """
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise CLIError(f"expected a server URL starting with http:// or https://, got {url!r}")
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        if "Port" in str(exc) or "port" in str(exc):
            raise CLIError(f"the port in {url!r} is not a number from 1 to 65535") from None
        raise CLIError(f"{url!r} is not a valid URL ({exc})") from None
    if parts.username is not None or parts.password is not None:
        raise CLIError(
            "the URL holds a user name or password; give the server URL without them "
            "(you log in through the browser or with --api-key)"
        )
    if not parts.hostname:
        raise CLIError(f"{url!r} has no host name")
    if port == 0:
        raise CLIError(f"the port in {url!r} is not a number from 1 to 65535")
    if parts.path or parts.query or parts.fragment:
        base = f"{parts.scheme}://{parts.netloc}"
        raise CLIError(f"give the server's base URL without a path, like {base} (not {url!r})")
    return url


@dataclass
class Credentials:
    """What the CLI keeps for one server.

    ``kind`` says how the token was obtained: ``device`` (browser approval, or ``zenml up``
    approving itself), ``api_key`` (the key is kept so the token can be refreshed) or
    ``password`` (a password login held in memory only; the CLI stores none) or ``oidc``
    (a platform's OIDC token exchanged for a token: only where it is read from is kept).
    """

    kind: CredentialKind
    access_token: str | None = None
    expires_at: str | None = None
    device_id: str | None = None
    api_key: str | None = None
    username: str | None = None
    password: str | None = None
    oidc_token_file: str | None = None
    oidc_token_env: str | None = None
    oidc_audience: str | None = None

    def expired(self, now: datetime, margin_seconds: int = 30) -> bool:
        """True when there is no token or it expires within ``margin_seconds``."""
        if not self.access_token:
            return True
        if self.expires_at is None:
            return False
        expires = parse_timestamp(self.expires_at)
        return (expires - now).total_seconds() <= margin_seconds

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Credentials:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def parse_timestamp(value: str) -> datetime:
    """Parse an ISO 8601 timestamp; a naive one is taken as UTC."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def format_timestamp(value: datetime) -> str:
    """``2026-11-28T10:00:00Z``, the wire format."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Config:
    """Read and write the configuration file in ``directory``.

    Every mutating method saves at once, so a crash never leaves a token only in memory.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / CONFIG_FILE
        self._data: dict[str, Any] = self._load()

    def _load(self) -> dict[str, Any]:
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise CLIError(f"cannot read {self.path}: {exc.strerror}") from None
        try:
            data = json.loads(raw)
        except ValueError:
            raise CLIError(f"{self.path} is not valid JSON; fix or delete it") from None
        if not isinstance(data, dict):
            raise CLIError(f"{self.path} is not a JSON object; fix or delete it")
        return data

    def _save(self) -> None:
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".config-", suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(self._data, handle, indent=2, sort_keys=True)
                    handle.write("\n")
                os.chmod(tmp, 0o600)
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise CLIError(f"cannot write {self.path}: {exc.strerror}") from None

    @property
    def client_id(self) -> str:
        """This installation's UUID, created (and saved) the first time it is asked for."""
        value = self._data.get("client_id")
        if not isinstance(value, str):
            value = str(uuid.uuid4())
            self._data["client_id"] = value
            self._save()
        return value

    @property
    def active_url(self) -> str | None:
        value = self._data.get("active_url")
        return value if isinstance(value, str) else None

    def local_server(self) -> dict[str, str]:
        """What ``zenml up`` remembers about the local server: its ``url``."""
        section = self._data.get("local_server")
        return (
            {k: v for k, v in section.items() if isinstance(v, str)}
            if isinstance(section, dict)
            else {}
        )

    def set_local_server(self, url: str) -> None:
        self._data["local_server"] = {"url": url}
        self._save()

    def servers(self) -> dict[str, Any]:
        servers = self._data.get("servers")
        if not isinstance(servers, dict):
            servers = self._data["servers"] = {}
        return servers

    def credentials(self, url: str) -> Credentials | None:
        """The stored credentials for ``url``, or None."""
        data = self.servers().get(normalize_url(url))
        if not isinstance(data, dict) or data.get("kind") not in (
            "device",
            "api_key",
            "password",
            "oidc",
        ):
            return None
        return Credentials.from_dict(data)

    def store(self, url: str, credentials: Credentials, *, activate: bool = True) -> None:
        """Save ``credentials`` for ``url`` (replacing what was there) and make it active."""
        url = normalize_url(url)
        self.servers()[url] = {k: v for k, v in asdict(credentials).items() if v is not None}
        if activate:
            self._data["active_url"] = url
        self._save()

    def activate(self, url: str) -> None:
        """Make ``url`` (whose credentials are stored) the server commands talk to."""
        self._data["active_url"] = normalize_url(url)
        self._save()

    def deactivate(self, url: str) -> bool:
        """Stop talking to ``url`` by default, keeping its credentials; True if it was active."""
        if self._data.get("active_url") != normalize_url(url):
            return False
        self._data.pop("active_url")
        self._save()
        return True

    def pending_login(self, url: str) -> dict[str, Any] | None:
        """A device login started with ``connect --no-wait`` for ``url``, or None."""
        pending = self._data.get("pending_logins")
        found = pending.get(normalize_url(url)) if isinstance(pending, dict) else None
        return found if isinstance(found, dict) else None

    def set_pending_login(self, url: str, login: dict[str, Any] | None) -> None:
        """Remember (or, with None, forget) a device login still waiting for approval."""
        pending = self._data.get("pending_logins")
        if not isinstance(pending, dict):
            pending = self._data["pending_logins"] = {}
        if login is None:
            if pending.pop(normalize_url(url), None) is None:
                return
        else:
            pending[normalize_url(url)] = login
        self._save()

    def forget(self, url: str) -> None:
        """Drop the credentials for ``url``; it stops being the active server."""
        url = normalize_url(url)
        self.servers().pop(url, None)
        if self._data.get("active_url") == url:
            self._data.pop("active_url")
        self._save()
