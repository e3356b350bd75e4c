"""Signed access tokens (JWT).

A token says who (``sub``), through what (``kind``: user, device or api_key), and the
generation of the credential it came from; whether that credential still works is decided
on every request by ``services/auth.py``, not by the token alone. Every token names the key
that signed it (``kid`` header) and has a ``jti``; the keys are kept by
``services/signing_keys.py``.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import jwt

from zenml_server.domain.clock import Clock
from zenml_server.domain.errors import InvalidCredentials
from zenml_server.domain.signing_keys import SigningKey
from zenml_server.domain.text import storable
from zenml_server.services.signing_keys import StaticKeys

# 9999-12-31T23:59:59Z: the last instant every database and datetime can hold.
_LATEST = 253_402_300_799


class Keyring(Protocol):
    """Where tokens get their keys (``services/signing_keys.py``)."""

    mac_secret: bytes

    def current(self) -> SigningKey: ...

    def find(self, kid: str | None) -> SigningKey | None: ...

    async def refresh(self) -> bool: ...


class UnknownSigningKey(InvalidCredentials):
    """The token names a key this process does not know (yet, or any more)."""


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    expires: float
    jti: str = ""


# Verified tokens remembered per process. A client reuses its token for many requests, and
# checking a signature (EdDSA even more than HS256) costs far more than the rest of a
# request; a token whose signature verified once stays genuine, so only its expiry is
# checked again (and revocation, by the authenticator).
_VERIFIED_MAX = 20_000


class Tokens:
    def __init__(
        self,
        keys: Keyring | str,
        issuer: str,
        clock: Clock,
        *,
        also_accepted: Sequence[str] = (),
    ) -> None:
        """``keys``: the keyring, or one HS256 secret (``StaticKeys``). ``also_accepted``:
        issuers whose tokens still verify (what this server used to put in ``iss``)."""
        self._keys: Keyring = StaticKeys(keys) if isinstance(keys, str) else keys
        self._issuer = issuer
        # Issuers whose tokens still verify (what this server used to put in ``iss``).
        self._accepted_issuers = [issuer, *also_accepted]
        self._clock = clock
        self._decoder = jwt.PyJWT(options={"verify_exp": False, "verify_iat": False})
        self._verified: dict[str, dict[str, Any]] = {}

    @property
    def issuer(self) -> str:
        return self._issuer

    @property
    def keys(self) -> Keyring:
        return self._keys

    def issue(self, kind: str, subject: str, lifetime: int, **claims: Any) -> IssuedToken:
        """A token for ``subject`` valid ``lifetime`` seconds from now, signed with the
        current key."""
        now = self._clock.now()
        jti = uuid.uuid4().hex
        payload = {
            "iss": self._issuer,
            "sub": subject,
            "kind": kind,
            # RFC 7519 NumericDate may be fractional: milliseconds let a deactivation tell
            # the tokens issued just before it from those issued just after.
            "iat": round(now, 3),
            "exp": int(now) + lifetime,
            "jti": jti,
            **claims,
        }
        key = self._keys.current()
        token = jwt.encode(payload, key.signing, algorithm=key.alg, headers={"kid": key.kid})
        return IssuedToken(token, lifetime, float(int(now) + lifetime), jti)

    def mac(self, purpose: str, value: str) -> str:
        """A keyed digest of ``value`` for ``purpose`` (CSRF tokens and the like)."""
        key = hmac.new(self._keys.mac_secret, purpose.encode(), hashlib.sha256).digest()
        return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a genuine, unexpired token; raise InvalidCredentials otherwise
        (UnknownSigningKey when it names a key this process does not know).

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
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidCredentials("invalid token") from None
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise InvalidCredentials("invalid token")
        key = self._keys.find(kid)
        if key is None:
            raise UnknownSigningKey("unknown signing key")
        try:
            # Only the key's own algorithm: a token cannot choose how it is checked.
            claims: dict[str, Any] = self._decoder.decode(
                token, key.verifying, algorithms=[key.alg], issuer=self._accepted_issuers
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
    return all(storable(value) for value in claims.values() if isinstance(value, str))
