"""OpenID Connect providers as this server sees them: discovery, keys, and checked JWTs.

Only issuers an administrator configured (an SSO provider setting, or a trust policy) are ever
asked for anything: callers decide the issuer is trusted before calling here, and the only
URLs fetched are ``<issuer>/.well-known/openid-configuration`` and the ``jwks_uri`` it names
(OpenID Connect Discovery 1.0 §4). Both are cached per process; the keys are fetched again
when a token names a ``kid`` they lack (a provider rotating its keys), at most once per
``KEY_REFETCH_SECONDS`` per issuer, so unknown-kid tokens cannot make us hammer a provider.

HTTP goes through a ``Fetcher`` given by the http layer (aiohttp); this module knows no web
framework. Signatures and JWKs are checked with joserfc (Authlib's JOSE implementation).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from authlib.oidc.discovery import OpenIDProviderMetadata
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from zenml_server.domain.clock import Clock
from zenml_server.domain.errors import InvalidCredentials, InvalidInput, ProviderUnavailable

# Asymmetric algorithms only: never "none", never HS* (a public key is no shared secret).
ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
METADATA_TTL_SECONDS = 3600.0
KEY_REFETCH_SECONDS = 30.0
# After a failed discovery, the issuer is not asked again for this long: a provider that is
# down is not hammered by every login that names it.
FAILURE_BACKOFF_SECONDS = 10.0
MAX_TOKEN_LENGTH = 16_384
MAX_ISSUER_LENGTH = 512
_MAX_ISSUERS = 1000
# RFC 3986 §2: a URI holds unreserved and reserved ASCII characters, and % only as the start
# of a percent-encoded octet. An issuer outside that can equal no provider's ``iss``, and
# HTTP clients disagree on what it names (a backslash is a slash to some, not to others).
_URI_CHARACTERS = re.compile(r"(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})+")


class Fetcher(Protocol):
    """HTTP to a provider. Every failure (network, status, size, not JSON) is
    ProviderUnavailable."""

    async def get_json(self, url: str) -> dict[str, Any]:
        """GET a JSON object."""
        ...

    async def post_form(
        self, url: str, form: Mapping[str, str], *, basic_auth: tuple[str, str] | None
    ) -> tuple[int, dict[str, Any]]:
        """POST a form; the status and the JSON object answered (4xx included)."""
        ...


class JwtRejected(InvalidCredentials):
    """A JWT failed a check; ``reason`` says which (for logs and SSO error pages only, never
    told to a token-exchange client)."""

    def __init__(self, reason: str) -> None:
        super().__init__("invalid token")
        self.reason = reason


def check_issuer_url(issuer: str) -> str:
    """An issuer identifier: an RFC 3986 URL, https (http only on a loopback host, for tests
    and development), no query or fragment. Raise InvalidInput otherwise."""
    if len(issuer) > MAX_ISSUER_LENGTH:
        raise InvalidInput(f"issuer must be at most {MAX_ISSUER_LENGTH} characters")
    if not _URI_CHARACTERS.fullmatch(issuer):
        raise InvalidInput("issuer must be a URL (RFC 3986: ASCII, other characters %-encoded)")
    try:
        parts = urlsplit(issuer)
        host = parts.hostname or ""
    except ValueError:
        raise InvalidInput("issuer must be an https:// URL") from None
    loopback = host in ("127.0.0.1", "::1", "localhost")
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise InvalidInput("issuer must be an https:// URL")
    if not host or parts.query or parts.fragment or parts.username or parts.password:
        raise InvalidInput("issuer must be an https:// URL without query, fragment or user")
    return issuer


def _b64json(segment: str) -> dict[str, Any]:
    padded = segment + "=" * (-len(segment) % 4)
    try:
        value = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error):
        raise JwtRejected("malformed") from None
    if not isinstance(value, dict):
        raise JwtRejected("malformed")
    return value


def peek(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of a compact JWS, NOT verified: to learn which issuer and key
    to check it with. Raise JwtRejected when it is not a well-formed JWS."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise JwtRejected("malformed")
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        raise JwtRejected("malformed")  # also refuses alg "none" (empty signature)
    return _b64json(parts[0]), _b64json(parts[1])


@dataclass
class _Provider:
    metadata: dict[str, Any]
    fetched: float
    keys: KeySet | None = None
    keys_fetched: float = float("-inf")


class OidcProviders:
    """Discovery documents and key sets of trusted issuers, cached per process."""

    def __init__(self, fetcher: Fetcher, clock: Clock) -> None:
        self.fetcher = fetcher
        self._clock = clock
        self._providers: dict[str, _Provider] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._failed: dict[str, float] = {}
        # How many times a key set was fetched (measured by tests and the benchmark).
        self.key_fetches = 0

    def _lock(self, issuer: str) -> asyncio.Lock:
        lock = self._locks.get(issuer)
        if lock is None:
            if len(self._locks) >= _MAX_ISSUERS:
                self._locks.clear()
            lock = self._locks[issuer] = asyncio.Lock()
        return lock

    async def metadata(self, issuer: str) -> dict[str, Any]:
        """The issuer's discovery document (validated: its ``issuer`` is exactly ours, and it
        names a ``jwks_uri``)."""
        return (await self._provider(issuer)).metadata

    async def _provider(self, issuer: str) -> _Provider:
        now = self._clock.now()
        known = self._providers.get(issuer)
        if known is not None and now - known.fetched < METADATA_TTL_SECONDS:
            return known
        async with self._lock(issuer):
            known = self._providers.get(issuer)
            if known is not None and now - known.fetched < METADATA_TTL_SECONDS:
                return known
            failed = self._failed.get(issuer)
            if failed is not None and now - failed < FAILURE_BACKOFF_SECONDS:
                raise ProviderUnavailable(f"{issuer}: failed moments ago, not asked again yet")
            try:
                metadata = await self._discover(issuer)
            except ProviderUnavailable:
                if len(self._failed) >= _MAX_ISSUERS:
                    self._failed.clear()
                self._failed[issuer] = now
                raise
            self._failed.pop(issuer, None)
            provider = _Provider(dict(metadata), now)
            if known is not None:  # keep the keys: a metadata refresh is no key rotation
                provider.keys, provider.keys_fetched = known.keys, known.keys_fetched
            if len(self._providers) >= _MAX_ISSUERS:
                self._providers.clear()
            self._providers[issuer] = provider
            return provider

    async def _discover(self, issuer: str) -> OpenIDProviderMetadata:
        url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        metadata = OpenIDProviderMetadata(await self.fetcher.get_json(url))
        try:
            metadata.validate_issuer()
            metadata.validate_jwks_uri()
        except ValueError as exc:
            raise ProviderUnavailable(f"{issuer}: bad discovery document ({exc})") from None
        if metadata.get("issuer") != issuer:
            raise ProviderUnavailable(f"{issuer}: the discovery document names another issuer")
        return metadata

    async def _key_set(self, issuer: str, kid: str | None) -> KeySet:
        """The issuer's keys, fetched again when they lack ``kid`` (rate limited)."""
        provider = await self._provider(issuer)
        if provider.keys is not None and _has_key(provider.keys, kid):
            return provider.keys
        async with self._lock(issuer):
            now = self._clock.now()
            if provider.keys is not None and (
                _has_key(provider.keys, kid) or now - provider.keys_fetched < KEY_REFETCH_SECONDS
            ):
                return provider.keys
            document = await self.fetcher.get_json(str(provider.metadata["jwks_uri"]))
            self.key_fetches += 1
            try:
                keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
            except (JoseError, ValueError, TypeError, KeyError):
                raise ProviderUnavailable(f"{issuer}: the key set is not a JWKS") from None
            provider.keys, provider.keys_fetched = keys, now
            return keys

    async def verify(
        self,
        token: str,
        *,
        issuer: str,
        audience: str | None,
        leeway: float,
        nonce: str | None = None,
    ) -> dict[str, Any]:
        """The claims of ``token`` after every check: an asymmetric algorithm, a signature
        by one of ``issuer``'s published keys, ``iss`` exactly ``issuer``, ``aud`` holding
        ``audience`` (unless None: the caller checks it), ``exp``/``nbf``/``iat`` within
        ``leeway`` seconds, and ``nonce`` when given (OpenID Connect Core §3.1.3.7).
        Raise JwtRejected naming the failed check."""
        header, unverified = peek(token)
        alg = header.get("alg")
        if alg not in ALGORITHMS or "crit" in header:
            raise JwtRejected("algorithm")
        if unverified.get("iss") != issuer:
            raise JwtRejected("issuer")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise JwtRejected("malformed")
        keys = await self._key_set(issuer, kid)
        if not _has_key(keys, kid):
            raise JwtRejected("unknown_key")
        try:
            key = keys.get_by_kid(kid) if kid is not None else keys.keys[0]
            claims = jwt.decode(token, key, algorithms=[alg]).claims
        except (JoseError, ValueError, TypeError):
            raise JwtRejected("signature") from None
        check_claims(
            claims,
            issuer=issuer,
            audience=audience,
            now=self._clock.now(),
            leeway=leeway,
            nonce=nonce,
        )
        return claims


def _has_key(keys: KeySet, kid: str | None) -> bool:
    if kid is None:
        # No kid: only unambiguous when the provider publishes a single key.
        return len(keys.keys) == 1
    return any(k.kid == kid for k in keys.keys)


def audiences_of(claims: Mapping[str, Any]) -> list[str]:
    """The token's ``aud``: one string or a list of them (RFC 7519 §4.1.3)."""
    aud = claims.get("aud")
    if isinstance(aud, str):
        return [aud]
    if isinstance(aud, list):
        return [a for a in aud if isinstance(a, str)]
    return []


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def check_claims(
    claims: Mapping[str, Any],
    *,
    issuer: str,
    audience: str | None,
    now: float,
    leeway: float,
    nonce: str | None = None,
) -> None:
    """RFC 7519 §4.1 checks of a verified token's claims; JwtRejected naming the failure."""
    if claims.get("iss") != issuer:
        raise JwtRejected("issuer")
    if audience is not None and audience not in audiences_of(claims):
        raise JwtRejected("audience")
    exp = _number(claims.get("exp"))
    if exp is None:
        raise JwtRejected("malformed")
    if exp + leeway <= now:
        raise JwtRejected("expired")
    for name in ("nbf", "iat"):
        if name in claims:
            when = _number(claims[name])
            if when is None:
                raise JwtRejected("malformed")
            if when - leeway > now:
                raise JwtRejected("not_yet_valid")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise JwtRejected("malformed")
    if nonce is not None:
        sent = claims.get("nonce")
        if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), nonce.encode()):
            raise JwtRejected("nonce")
