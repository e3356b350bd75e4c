"""Generation, formatting and digests of every secret the server hands out.

Secrets are random, so a fast keyed digest is enough to store them (no slow hash): the
database holds only ``digest(secret)`` and lookups go through a unique index on it.
Comparisons of secrets use ``hmac.compare_digest``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import zlib

# RFC 8628 §6.1: a reduced alphabet without vowels (no words) and without
# look-alike characters; 20**8 ≈ 2**34.6 combinations.
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 8

API_KEY_PREFIX = "zenkey_"
_API_KEY_RANDOM_BYTES = 24  # 192 bits
_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def digest(secret: str) -> str:
    """The stored form of a random secret: hex SHA-256."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_token(nbytes: int = 32) -> str:
    """A URL-safe random secret of ``nbytes`` bytes (default 256 bits)."""
    return secrets.token_urlsafe(nbytes)


def new_user_code() -> str:
    """An 8-character user code from the RFC 8628 §6.1 style alphabet, unformatted."""
    return "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))


def format_user_code(code: str) -> str:
    """``WDJBMJHT`` -> ``WDJB-MJHT``, the form shown to people."""
    return f"{code[:4]}-{code[4:]}"


def normalize_user_code(typed: str) -> str | None:
    """Normalise what a person typed (case, dashes, spaces); None when it cannot be a code."""
    code = "".join(ch for ch in typed.upper() if ch not in "- \t")
    if len(code) != USER_CODE_LENGTH or any(ch not in USER_CODE_ALPHABET for ch in code):
        return None
    return code


def _checksum(body: str) -> str:
    crc = zlib.crc32(body.encode("ascii")) & 0xFFFFFFFF
    return "".join(_B32[(crc >> shift) & 31] for shift in (27, 22, 17, 12, 7, 2))


def new_api_key() -> str:
    """``zenkey_`` + 192 random bits in base32 + a 6-character CRC-32 checksum.

    The prefix lets secret scanners recognise a leaked key; the checksum lets the server
    reject a mistyped key without a database lookup.
    """
    body = base64.b32encode(secrets.token_bytes(_API_KEY_RANDOM_BYTES)).decode().rstrip("=")
    return f"{API_KEY_PREFIX}{body}{_checksum(body)}"


def looks_like_api_key(candidate: str) -> bool:
    """True when ``candidate`` has the API key shape and a valid checksum (no I/O)."""
    if not candidate.startswith(API_KEY_PREFIX):
        return False
    rest = candidate[len(API_KEY_PREFIX) :]
    if len(rest) < 12 or any(ch not in _B32 for ch in rest):
        return False
    body, check = rest[:-6], rest[-6:]
    return hmac.compare_digest(_checksum(body), check)


def same_text(known: str, given: str) -> bool:
    """Constant-time equality of a stored value and one from the request (any text)."""
    return hmac.compare_digest(known.encode(), given.encode())
