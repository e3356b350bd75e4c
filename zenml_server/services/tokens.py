"""Signed access tokens (JWT, HS256).

A token says who (``sub``), through what (``kind``: user, device or api_key), and the
generation of the credential it came from; whether that credential still works is decided
on every request by ``services/auth.py``, not by the token alone.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from zenml_server.domain.clock import Clock
from zenml_server.domain.errors import InvalidCredentials

ALGORITHM = "HS256"
# 9999-12-31T23:59:59Z: the last instant every database and datetime can hold.
_LATEST = 253_402_300_799


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    expires: float


# Verified tokens remembered per process. A client reuses its token for many requests, and
# checking an HS256 signature with PyJWT costs far more than the rest of a request; a token
# whose signature verified once stays genuine, so only its expiry is checked again.
_VERIFIED_MAX = 20_000


class Tokens:
    def __init__(self, secret: str, issuer: str, clock: Clock) -> None:
        self._secret = secret
        self._issuer = issuer
        self._clock = clock
        self._decoder = jwt.PyJWT(options={"verify_exp": False, "verify_iat": False})
        self._verified: dict[str, dict[str, Any]] = {}

    def issue(self, kind: str, subject: str, lifetime: int, **claims: Any) -> IssuedToken:
        """A token for ``subject`` valid ``lifetime`` seconds from now."""
        now = self._clock.now()
        payload = {
            "iss": self._issuer,
            "sub": subject,
            "kind": kind,
            # RFC 7519 NumericDate may be fractional: milliseconds let a deactivation tell
            # the tokens issued just before it from those issued just after.
            "iat": round(now, 3),
            "exp": int(now) + lifetime,
            "jti": uuid.uuid4().hex,
            **claims,
        }
        token = jwt.encode(payload, self._secret, algorithm=ALGORITHM)
        return IssuedToken(token, lifetime, float(int(now) + lifetime))

    def mac(self, purpose: str, value: str) -> str:
        """A keyed digest of ``value`` for ``purpose`` (CSRF tokens and the like)."""
        key = hmac.new(self._secret.encode(), purpose.encode(), hashlib.sha256).digest()
        return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a genuine, unexpired token; raise InvalidCredentials otherwise.

        Expiry is checked against the injected clock, not the wall clock. Callers get their
        own copy of the claims.
        """
        claims = self._verified.get(token)
        if claims is None:
            claims = self._decode(token)
            if len(self._verified) >= _VERIFIED_MAX:
                # Forget the oldest entry (dicts keep insertion order).
                del self._verified[next(iter(self._verified))]
            self._verified[token] = claims
        if claims["exp"] <= self._clock.now():
            raise InvalidCredentials("token expired")
        return dict(claims)

    def _decode(self, token: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = self._decoder.decode(
                token, self._secret, algorithms=[ALGORITHM], issuer=self._issuer
            )
        except jwt.PyJWTError:
            raise InvalidCredentials("invalid token") from None
        if not _usable(claims):
            raise InvalidCredentials("invalid token")
        return claims


def _usable(claims: dict[str, Any]) -> bool:
    """Claims every later step can use: times a datetime can hold and text a database can
    store (no NUL, no lone surrogate), whoever signed them."""
    exp, iat = claims.get("exp"), claims.get("iat", 0)
    if type(exp) is not int or not 0 < exp <= _LATEST:
        return False
    if type(iat) not in (int, float) or not 0 <= iat <= _LATEST:
        return False
    if not isinstance(claims.get("sub"), str) or not isinstance(claims.get("kind"), str):
        return False
    return all(_storable(value) for value in claims.values() if isinstance(value, str))


def _storable(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
