"""Server settings, read once from ``ZENML_SERVER_*`` environment variables.

Every setting is declared in ``SPECS`` and documented in docs/settings.md (a test fails on an
undocumented one). A bad value stops start-up with one line naming the variable.
Tests build ``Settings(...)`` directly and never touch ``os.environ``.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

PREFIX = "ZENML_SERVER_"


class SettingsError(ValueError):
    """A setting has a bad value; the message names the variable."""


def default_database_url() -> str:
    path = Path(platformdirs.user_data_dir("zenml-server")) / "zenml-server.sqlite"
    return f"sqlite:///{path}"


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class SsoProvider:
    """One OpenID Connect provider people may log in to the web pages with."""

    name: str
    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    display_name: str
    scopes: tuple[str, ...] = ("openid", "profile", "email")
    # The first of these claims the ID token (or userinfo) carries names a new user.
    username_claims: tuple[str, ...] = ("preferred_username", "email")
    groups_claim: str = "groups"
    # When set, admin rights follow membership of this group at every login.
    admin_group: str | None = None


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=default_database_url)
    host: str = "127.0.0.1"
    port: int = 8080
    url: str | None = None
    admin_username: str = "admin"
    admin_password: str | None = field(default=None, repr=False)
    jwt_secret_key: str | None = field(default=None, repr=False)
    encryption_key: str | None = field(default=None, repr=False)
    jwt_token_expire_minutes: int = 60
    session_expire_minutes: int = 720
    device_expiration_minutes: int = 1440
    trusted_device_expiration_minutes: int = 43200
    device_auth_timeout: int = 300
    device_auth_polling_interval: int = 5
    max_failed_device_auth_attempts: int = 3
    trusted_proxies: tuple[Network, ...] = ()
    max_request_size: int = 65536
    request_header_timeout_seconds: float = 10.0
    request_body_timeout_seconds: float = 15.0
    keepalive_timeout_seconds: float = 75.0
    database_pool_size: int = 10
    revocation_cache_ttl_seconds: float = 5.0
    rate_limit_scale: float = 1.0
    log_level: str = "INFO"
    api_key_max_lifetime_days: int | None = None
    introspection_service_accounts: tuple[str, ...] = ()
    token_exchange_expire_minutes: int = 15
    sso_providers: tuple[SsoProvider, ...] = ()
    password_login: bool = True
    audit_retention_days: int = 365

    @property
    def issuer(self) -> str:
        """The OAuth issuer (RFC 8414 §2) and the ``iss`` of every token: ``url``, else the
        listening address; never taken from a request's Host header."""
        if self.url is not None:
            return self.url
        host = "localhost" if self.host in ("", "0.0.0.0", "::") else self.host  # noqa: S104
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def max_token_lifetime(self) -> int:
        """The longest any access token can live, in seconds: how long a superseded signing
        key keeps verifying."""
        minutes = max(
            self.jwt_token_expire_minutes,
            self.device_expiration_minutes,
            self.trusted_device_expiration_minutes,
            self.token_exchange_expire_minutes,
        )
        return minutes * 60

    def __repr__(self) -> str:
        shown = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in _SECRET_FIELDS and value is not None:
                value = "********"
            elif f.name == "database_url":
                value = mask_url(value)
            shown.append(f"{f.name}={value!r}")
        return f"Settings({', '.join(shown)})"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Build settings from an environment mapping; raise SettingsError on a bad value."""
        values: dict[str, Any] = {}
        known = {PREFIX + name.upper() for name in SPECS}
        for key in environ:
            if key.startswith(PREFIX) and key not in known:
                raise SettingsError(f"{key}: unknown setting (see docs/settings.md)")
        for name, parse in SPECS.items():
            var = PREFIX + name.upper()
            raw = environ.get(var)
            if raw is None or raw == "":
                continue
            try:
                values[name] = parse(raw)
            except ValueError as exc:
                raise SettingsError(f"{var}: {exc}") from None
        return cls(**values)


_SECRET_FIELDS = {
    "admin_password",
    "jwt_secret_key",
    "encryption_key",
}  # (SSO client secrets: repr=False)


def mask_url(url: str) -> str:
    """Hide the password in a database URL."""
    if "://" not in url or "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    if ":" in creds:
        creds = creds.split(":", 1)[0] + ":********"
    return f"{scheme}://{creds}@{host}"


def _positive_int(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"expected a whole number, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"must be greater than 0, got {value}")
    return value


def _port(raw: str) -> int:
    value = _positive_int(raw)
    if value > 65535:
        raise ValueError(f"not a TCP port: {value}")
    return value


def _positive_float(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"expected a number, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"must be greater than 0, got {value}")
    return value


def _database_url(raw: str) -> str:
    if raw.startswith("sqlite:///"):
        path = raw[len("sqlite:///") :]
        if not path.startswith("/"):
            raise ValueError("sqlite URLs need an absolute path: sqlite:////abs/path.sqlite")
        return raw
    if raw.startswith(("postgresql://", "postgres://")):
        return raw
    raise ValueError("expected sqlite:////ABSOLUTE/PATH or postgresql://user:pass@host:port/db")


def _url(raw: str) -> str:
    if not raw.startswith(("http://", "https://")):
        raise ValueError(f"expected an http:// or https:// URL, got {raw!r}")
    return raw.rstrip("/")


def _text(raw: str) -> str:
    return raw


def _log_level(raw: str) -> str:
    level = raw.upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ValueError("expected DEBUG, INFO, WARNING or ERROR")
    return level


def _networks(raw: str) -> tuple[Network, ...]:
    nets = []
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            nets.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"not an IP address or network: {part!r}") from None
    return tuple(nets)


def _secret(raw: str) -> str:
    if len(raw) < 32:
        raise ValueError("must be at least 32 characters long")
    return raw


def _names(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _boolean(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {raw!r}")


_PROVIDER_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
_PROVIDER_KEYS = {
    "name",
    "issuer",
    "client_id",
    "client_secret",
    "display_name",
    "scopes",
    "username_claims",
    "groups_claim",
    "admin_group",
}


def _strings(entry: dict[str, Any], key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    value = entry.get(key, list(default))
    if isinstance(value, str):
        value = value.split()
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{key} must be a list of strings")
    return tuple(value)


def _sso_provider(entry: Any) -> SsoProvider:
    if not isinstance(entry, dict):
        raise ValueError("each provider must be a JSON object")
    unknown = set(entry) - _PROVIDER_KEYS
    if unknown:
        raise ValueError(f"unknown provider field(s): {', '.join(sorted(unknown))}")
    for key in ("name", "issuer", "client_id", "client_secret"):
        if not isinstance(entry.get(key), str) or not entry[key]:
            raise ValueError(f"each provider needs a {key}")
    name = entry["name"]
    if not _PROVIDER_NAME.match(name):
        raise ValueError(f"provider name {name!r}: 1-32 lower-case letters, digits or '-'")
    issuer = entry["issuer"]
    if not issuer.startswith("https://") and not issuer.startswith(
        ("http://127.0.0.1", "http://localhost", "http://[::1]")
    ):
        raise ValueError(f"provider {name}: the issuer must be an https:// URL")
    scopes = _strings(entry, "scopes", ("openid", "profile", "email"))
    if "openid" not in scopes:
        raise ValueError(f"provider {name}: scopes must include openid")
    for key in ("display_name", "groups_claim", "admin_group"):
        if key in entry and not isinstance(entry[key], str):
            raise ValueError(f"provider {name}: {key} must be a string")
    return SsoProvider(
        name=name,
        issuer=entry["issuer"],
        client_id=entry["client_id"],
        client_secret=entry["client_secret"],
        display_name=entry.get("display_name") or name,
        scopes=scopes,
        username_claims=_strings(entry, "username_claims", ("preferred_username", "email")),
        groups_claim=entry.get("groups_claim") or "groups",
        admin_group=entry.get("admin_group") or None,
    )


def _sso_providers(raw: str) -> tuple[SsoProvider, ...]:
    try:
        value = json.loads(raw)
    except ValueError:
        raise ValueError("expected a JSON list of providers (see docs/settings.md)") from None
    if not isinstance(value, list):
        raise ValueError("expected a JSON list of providers (see docs/settings.md)")
    providers = tuple(_sso_provider(entry) for entry in value)
    names = [p.name for p in providers]
    if len(set(names)) != len(names):
        raise ValueError("two providers have the same name")
    return providers


SPECS: dict[str, Callable[[str], Any]] = {
    "database_url": _database_url,
    "host": _text,
    "port": _port,
    "url": _url,
    "admin_username": _text,
    "admin_password": _text,
    "jwt_secret_key": _secret,
    "encryption_key": _secret,
    "jwt_token_expire_minutes": _positive_int,
    "session_expire_minutes": _positive_int,
    "device_expiration_minutes": _positive_int,
    "trusted_device_expiration_minutes": _positive_int,
    "device_auth_timeout": _positive_int,
    "device_auth_polling_interval": _positive_int,
    "max_failed_device_auth_attempts": _positive_int,
    "trusted_proxies": _networks,
    "max_request_size": _positive_int,
    "request_header_timeout_seconds": _positive_float,
    "request_body_timeout_seconds": _positive_float,
    "keepalive_timeout_seconds": _positive_float,
    "database_pool_size": _positive_int,
    "revocation_cache_ttl_seconds": _positive_float,
    "rate_limit_scale": _positive_float,
    "log_level": _log_level,
    "api_key_max_lifetime_days": _positive_int,
    "introspection_service_accounts": _names,
    "token_exchange_expire_minutes": _positive_int,
    "sso_providers": _sso_providers,
    "password_login": _boolean,
    "audit_retention_days": _positive_int,
}
