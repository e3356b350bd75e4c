"""The single sign-on settings: parsed from JSON, checked, the client secret masked."""

from __future__ import annotations

import json

import pytest

from zenml_server.settings import Settings, SettingsError

VAR = "ZENML_SERVER_SSO_PROVIDERS"
ACME = {
    "name": "acme",
    "issuer": "https://login.acme.example",
    "client_id": "zenml",
    "client_secret": "very-secret-value",
}


def test_providers_are_parsed_with_defaults() -> None:
    """A provider needs name, issuer, client id and secret; the rest has defaults."""
    settings = Settings.from_env(
        {VAR: json.dumps([ACME, {**ACME, "name": "other", "admin_group": "ops"}])}
    )
    acme, other = settings.sso_providers
    assert acme.display_name == "acme" and acme.scopes == ("openid", "profile", "email")
    assert acme.username_claims == ("preferred_username", "email") and acme.admin_group is None
    assert other.admin_group == "ops"
    assert Settings.from_env({"ZENML_SERVER_PASSWORD_LOGIN": "false"}).password_login is False


@pytest.mark.parametrize(
    "value",
    [
        "not json",
        json.dumps(ACME),
        json.dumps([{**ACME, "issuer": "http://login.acme.example"}]),
        json.dumps([{**ACME, "scopes": ["profile"]}]),
        json.dumps([{**ACME, "name": "Has Spaces"}]),
        json.dumps([{**ACME, "client_secret": ""}]),
        json.dumps([{**ACME, "secret": "typo"}]),
        json.dumps([ACME, ACME]),
    ],
)
def test_bad_providers_name_the_variable(value: str) -> None:
    """A malformed provider list stops start-up with one line naming the variable."""
    with pytest.raises(SettingsError) as info:
        Settings.from_env({VAR: value})
    assert str(info.value).startswith(VAR) and "\n" not in str(info.value)


def test_client_secret_is_masked() -> None:
    """repr() of the settings never shows a provider's client secret."""
    settings = Settings.from_env({VAR: json.dumps([ACME])})
    assert "very-secret-value" not in repr(settings)
