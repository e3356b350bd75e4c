"""Settings: typed, checked, documented, secrets masked."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from zenml_server.settings import PREFIX, SPECS, Settings, SettingsError

DOCS = Path(__file__).resolve().parent.parent / "docs" / "settings.md"


def test_every_setting_is_documented() -> None:
    """Each setting appears in docs/settings.md, and the doc names no unknown one."""
    documented = set(re.findall(r"`(ZENML_SERVER_[A-Z_]+)`", DOCS.read_text()))
    declared = {PREFIX + name.upper() for name in SPECS}
    assert declared - documented == set(), "undocumented settings"
    assert documented - declared == set(), "documented settings that do not exist"


def test_every_setting_is_a_field() -> None:
    """Each declared setting is a field of Settings."""
    assert set(SPECS) <= set(Settings.__dataclass_fields__)


def test_values_are_parsed_by_type() -> None:
    """Numbers, URLs and networks are parsed from their text."""
    settings = Settings.from_env(
        {
            "ZENML_SERVER_PORT": "9000",
            "ZENML_SERVER_URL": "https://zenml.example.com/",
            "ZENML_SERVER_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1",
            "ZENML_SERVER_DATABASE_URL": "postgresql://u:p@db:5432/zenml",
        }
    )
    assert settings.port == 9000
    assert settings.url == "https://zenml.example.com"
    assert len(settings.trusted_proxies) == 2


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("ZENML_SERVER_PORT", "eighty"),
        ("ZENML_SERVER_PORT", "70000"),
        ("ZENML_SERVER_DEVICE_AUTH_POLLING_INTERVAL", "0"),
        ("ZENML_SERVER_DATABASE_URL", "sqlite:///relative.db"),
        ("ZENML_SERVER_DATABASE_URL", "mysql://x"),
        ("ZENML_SERVER_URL", "zenml.example.com"),
        ("ZENML_SERVER_TRUSTED_PROXIES", "not-an-ip"),
        ("ZENML_SERVER_JWT_SECRET_KEY", "short"),
        ("ZENML_SERVER_LOG_LEVEL", "LOUD"),
        ("ZENML_SERVER_REQUEST_HEADER_TIMEOUT_SECONDS", "0"),
        ("ZENML_SERVER_REQUEST_HEADER_TIMEOUT_SECONDS", "soon"),
        ("ZENML_SERVER_KEEPALIVE_TIMEOUT_SECONDS", "-1"),
        ("ZENML_SERVER_DEVICE_EXPIRATON_MINUTES", "5"),
    ],
)
def test_bad_value_names_the_variable(var: str, value: str) -> None:
    """A bad or unknown variable is refused with a one-line message naming it."""
    with pytest.raises(SettingsError) as info:
        Settings.from_env({var: value})
    message = str(info.value)
    assert message.startswith(var) and "\n" not in message


def test_secrets_are_masked_in_repr() -> None:
    """repr() never shows the admin password, the JWT key or the database password."""
    settings = Settings(
        admin_password="hunter2-hunter2",
        jwt_secret_key="k" * 40,
        database_url="postgresql://zen:dbpass@db/zenml",
    )
    text = repr(settings)
    assert "hunter2" not in text and "k" * 40 not in text and "dbpass" not in text
    assert "postgresql://zen:********@db/zenml" in text
