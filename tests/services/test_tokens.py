"""Signed access tokens: genuine, unexpired, from this deployment; verified once per process."""

from __future__ import annotations

import pytest

from zenml_server.domain.clock import ManualClock
from zenml_server.domain.errors import InvalidCredentials
from zenml_server.services.tokens import Tokens

SECRET = "s" * 48


def test_issued_token_verifies_with_its_claims() -> None:
    """A fresh token verifies and carries its kind, subject and extra claims."""
    tokens = Tokens(SECRET, "zenml-server:one", ManualClock())
    issued = tokens.issue("device", "user-1", 60, device_id="dev-1")
    claims = tokens.verify(issued.access_token)
    assert (claims["kind"], claims["sub"], claims["device_id"]) == ("device", "user-1", "dev-1")


def test_expiry_follows_the_clock_also_when_remembered() -> None:
    """A verified token stops working at its expiry, remembered or not."""
    clock = ManualClock()
    tokens = Tokens(SECRET, "zenml-server:one", clock)
    token = tokens.issue("user", "u", 60).access_token
    tokens.verify(token)
    clock.advance(59)
    tokens.verify(token)
    clock.advance(1)
    with pytest.raises(InvalidCredentials):
        tokens.verify(token)


def test_tampered_token_is_refused_even_after_the_genuine_one_verified() -> None:
    """Changing any part of a remembered token makes a different, refused token."""
    tokens = Tokens(SECRET, "zenml-server:one", ManualClock())
    token = tokens.issue("user", "u", 60).access_token
    tokens.verify(token)
    header, payload, signature = token.split(".")
    forged_signature = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    for forged in (f"{header}.{payload}.{forged_signature}", f"{header}.{payload}x.{signature}"):
        with pytest.raises(InvalidCredentials):
            tokens.verify(forged)


def test_other_deployments_tokens_are_refused() -> None:
    """A token signed with another secret, or for another issuer, is refused."""
    clock = ManualClock()
    other_secret = Tokens("t" * 48, "zenml-server:one", clock).issue("user", "u", 60)
    other_issuer = Tokens(SECRET, "zenml-server:two", clock).issue("user", "u", 60)
    tokens = Tokens(SECRET, "zenml-server:one", clock)
    for issued in (other_secret, other_issuer):
        with pytest.raises(InvalidCredentials):
            tokens.verify(issued.access_token)


def test_claims_returned_are_a_copy() -> None:
    """Changing the returned claims does not change what the next request sees."""
    tokens = Tokens(SECRET, "zenml-server:one", ManualClock())
    token = tokens.issue("user", "u", 60).access_token
    tokens.verify(token)["sub"] = "someone-else"
    assert tokens.verify(token)["sub"] == "u"
