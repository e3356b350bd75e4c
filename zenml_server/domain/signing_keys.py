"""Token signing keys as the server holds them (no I/O).

Keys have a generation: 0 is the HS256 secret an older server generated (kept only to verify
the tokens it signed), 1, 2 … are Ed25519 key pairs, the highest being the current one.
A key stops verifying (is retired) when the key after it has been current for longer than the
longest token lifetime: by then every token it signed has expired.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

EDDSA = "EdDSA"
HS256 = "HS256"
LEGACY_KID = "legacy-hs256"


@dataclass(frozen=True)
class SigningKey:
    """One key: ``signing`` is the Ed25519 private key or the HS256 secret; ``verifying`` is
    the public key or the same secret."""

    kid: str
    alg: str
    generation: int
    created: float
    signing: Any
    verifying: Any
    # Set once a newer key took over: from then on this key only verifies, until it retires.
    superseded: float | None = None

    @property
    def public(self) -> bool:
        return self.alg == EDDSA

    def retires(self, max_lifetime: float) -> float | None:
        """When the last token this key signed expires (None while it is current)."""
        return None if self.superseded is None else self.superseded + max_lifetime

    def jwk(self) -> dict[str, str]:
        """The public JWK (RFC 8037 §2); only for Ed25519 keys."""
        assert isinstance(self.verifying, Ed25519PublicKey)
        raw = self.verifying.public_bytes_raw()
        x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
        return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": self.kid, "alg": EDDSA, "use": "sig"}


def new_kid() -> str:
    return secrets.token_hex(8)


def ed25519_key(kid: str, generation: int, created: float, private_raw: bytes) -> SigningKey:
    private = Ed25519PrivateKey.from_private_bytes(private_raw)
    return SigningKey(kid, EDDSA, generation, created, private, private.public_key())


def new_ed25519_private() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes_raw()


def hs256_key(kid: str, generation: int, created: float, secret: bytes) -> SigningKey:
    return SigningKey(kid, HS256, generation, created, secret, secret)


def configured_kid(secret: str) -> str:
    """A stable key id for a configured HS256 secret that says nothing about it."""
    return "hs256-" + hashlib.sha256(b"zenml-server kid:" + secret.encode()).hexdigest()[:16]
