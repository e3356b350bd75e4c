"""Encryption of key material at rest (``ZENML_SERVER_ENCRYPTION_KEY``).

A sealed value is text: ``aesgcm1:<base64url(nonce | ciphertext)>`` when an encryption key is
configured, ``plain:<base64url(bytes)>`` when not. The AES-256-GCM key is derived from the
configured secret with HKDF-SHA256, and each value is bound to what it is (``purpose``, e.g.
the key id) as associated data, so a sealed value copied to another row does not open.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from zenml_server.domain.errors import DomainError

_SEALED = "aesgcm1:"
_PLAIN = "plain:"
_NONCE_BYTES = 12


class SealingError(DomainError):
    """Stored key material cannot be opened (no encryption key, or the wrong one)."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text.encode("ascii"))


class Sealer:
    """Seals and opens key material with the configured encryption key (or none)."""

    def __init__(self, secret: str | None) -> None:
        self._aead: AESGCM | None = None
        if secret is not None:
            key = HKDF(
                algorithm=hashes.SHA256(), length=32, salt=None, info=b"zenml-server key sealing"
            ).derive(secret.encode("utf-8"))
            self._aead = AESGCM(key)

    @property
    def encrypts(self) -> bool:
        return self._aead is not None

    def seal(self, purpose: str, data: bytes) -> str:
        if self._aead is None:
            return _PLAIN + _b64(data)
        nonce = os.urandom(_NONCE_BYTES)
        return _SEALED + _b64(nonce + self._aead.encrypt(nonce, data, purpose.encode()))

    def open(self, purpose: str, sealed: str) -> bytes:
        """The data; SealingError when it is encrypted and this sealer cannot open it."""
        if sealed.startswith(_PLAIN):
            return _unb64(sealed[len(_PLAIN) :])
        if not sealed.startswith(_SEALED):
            raise SealingError("stored key material is in an unknown format")
        if self._aead is None:
            raise SealingError(
                "stored signing keys are encrypted: set ZENML_SERVER_ENCRYPTION_KEY to the key "
                "they were encrypted with"
            )
        raw = _unb64(sealed[len(_SEALED) :])
        try:
            return self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], purpose.encode())
        except InvalidTag:
            raise SealingError(
                "ZENML_SERVER_ENCRYPTION_KEY does not open the stored signing keys "
                "(it is not the key they were encrypted with)"
            ) from None

    def is_plain(self, sealed: str) -> bool:
        return sealed.startswith(_PLAIN)
