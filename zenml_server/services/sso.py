"""Single sign-on for the web pages: OpenID Connect authorization code flow with PKCE.

``begin`` makes the authorization request (OpenID Connect Core §3.1.2.1) with a fresh
``state``; the PKCE verifier (RFC 7636, S256) and the ``nonce`` are derived from that state
under the server's key, so the browser only has to hold the state (in a signed cookie, see
``http/pages/sso.py``) for the login to be bound to it. ``finish`` redeems the code at the
provider's token endpoint, checks the ID token (signature from the provider's JWKS, issuer,
audience, expiry, nonce), and returns the user linked to (issuer, subject), creating them on
their first login. Admin rights follow the provider's group claim at every login when an
admin group is configured; a user deactivated here stays out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from zenml_server.domain.audit import Outcome
from zenml_server.domain.errors import DomainError, ProviderUnavailable
from zenml_server.domain.models import User
from zenml_server.services.oidc import JwtRejected, OidcProviders, audiences_of
from zenml_server.services.users import MAX_NAME_LENGTH
from zenml_server.services.wiring import Wiring
from zenml_server.settings import SsoProvider

CLOCK_SKEW_SECONDS = 60.0
MAX_CODE_LENGTH = 2048


class SsoFailed(DomainError):
    """A single sign-on did not log anyone in. ``kind`` says what a person can do about it:
    ``unreachable``, ``cancelled``, ``audience``, ``clock``, ``deactivated``, ``unknown`` or
    ``invalid``."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True, slots=True)
class Authorization:
    """Where to send the browser, and the state it must bring back."""

    url: str
    state: str


def _groups(claims: dict[str, Any], claim: str) -> list[str]:
    value = claims.get(claim)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [g for g in value if isinstance(g, str)]
    return []


def name_candidates(provider: SsoProvider, claims: dict[str, Any]) -> list[str]:
    """User names to try for a new user, most natural first (a name taken by someone else
    gets the provider's name appended, never links to that someone)."""
    base = ""
    for claim in provider.username_claims:
        value = claims.get(claim)
        if isinstance(value, str) and value.strip() and value.strip().isprintable():
            base = value.strip()
            break
    subject_digest = hashlib.sha256(str(claims["sub"]).encode()).hexdigest()[:10]
    if not base:
        base = f"{provider.name}-{subject_digest}"
    names = [base, f"{base}@{provider.name}", f"{base}@{provider.name}-{subject_digest}"]
    return [n[:MAX_NAME_LENGTH].strip() for n in names]


class SingleSignOn:
    def __init__(self, wiring: Wiring, providers: OidcProviders) -> None:
        self._identities = wiring.store.identities
        self._tokens = wiring.tokens
        self._revocations = wiring.revocations
        self._clock = wiring.clock
        self._oidc = providers
        self._audit = wiring.audit
        self._providers = {p.name: p for p in wiring.settings.sso_providers}
        self._limit = wiring.rate_limits.new(
            "sso_per_address", burst=20, per_minute=20, what="single sign-on attempts"
        )

    def providers(self) -> Sequence[SsoProvider]:
        return list(self._providers.values())

    def provider(self, name: str) -> SsoProvider:
        found = self._providers.get(name)
        if found is None:
            raise SsoFailed("unknown", "There is no such identity provider here.")
        return found

    def _derived(self, purpose: str, state: str) -> str:
        return self._tokens.mac(f"sso-{purpose}", state)

    async def begin(self, name: str, redirect_uri: str) -> Authorization:
        """The authorization request for provider ``name``."""
        provider = self.provider(name)
        metadata = await self._metadata(provider)
        endpoint = metadata.get("authorization_endpoint")
        if not isinstance(endpoint, str):
            raise SsoFailed("unreachable", f"{provider.display_name} has no login page.")
        state = generate_token(32)
        params = [
            ("response_type", "code"),
            ("client_id", provider.client_id),
            ("redirect_uri", redirect_uri),
            ("scope", " ".join(provider.scopes)),
            ("state", state),
            ("nonce", self._derived("nonce", state)),
            ("code_challenge", create_s256_code_challenge(self._derived("pkce", state))),
            ("code_challenge_method", "S256"),
        ]
        return Authorization(add_params_to_uri(endpoint, params), state)

    async def finish(self, name: str, *, state: str, code: str, redirect_uri: str, ip: str) -> User:
        """The user behind a successful callback. ``state`` is the one the browser held (the
        caller has checked that the callback's state equals it). Each attempt is queued for
        the audit trail."""
        try:
            user = await self._finish(
                name, state=state, code=code, redirect_uri=redirect_uri, ip=ip
            )
        except SsoFailed as exc:
            event = self._audit.event(
                "login.sso", outcome=Outcome.FAILURE, provider=name[:64], reason=exc.kind
            )
            self._audit.note(event)
            raise
        target = ("user", user.id, user.name)
        self._audit.note(self._audit.event("login.sso", target=target, provider=name[:64]))
        return user

    async def _finish(
        self, name: str, *, state: str, code: str, redirect_uri: str, ip: str
    ) -> User:
        self._limit.hit(ip)
        provider = self.provider(name)
        if not code or len(code) > MAX_CODE_LENGTH:
            raise SsoFailed("invalid", "The identity provider's answer is incomplete.")
        id_token = await self._redeem(provider, code, state, redirect_uri)
        claims = await self._check_id_token(provider, id_token, state)
        return await self._user(provider, claims)

    async def _metadata(self, provider: SsoProvider) -> dict[str, Any]:
        try:
            return await self._oidc.metadata(provider.issuer)
        except ProviderUnavailable:
            raise SsoFailed(
                "unreachable", f"{provider.display_name} cannot be reached right now."
            ) from None

    async def _redeem(self, provider: SsoProvider, code: str, state: str, redirect_uri: str) -> str:
        metadata = await self._metadata(provider)
        endpoint = metadata.get("token_endpoint")
        if not isinstance(endpoint, str):
            raise SsoFailed("unreachable", f"{provider.display_name} has no token endpoint.")
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": self._derived("pkce", state),
        }
        try:
            status, body = await self._oidc.fetcher.post_form(
                endpoint, form, basic_auth=(provider.client_id, provider.client_secret)
            )
        except ProviderUnavailable:
            raise SsoFailed(
                "unreachable", f"{provider.display_name} cannot be reached right now."
            ) from None
        id_token = body.get("id_token")
        if status != 200 or not isinstance(id_token, str):
            raise SsoFailed(
                "invalid", f"{provider.display_name} did not accept this login; try again."
            )
        return id_token

    async def _check_id_token(
        self, provider: SsoProvider, id_token: str, state: str
    ) -> dict[str, Any]:
        try:
            claims = await self._oidc.verify(
                id_token,
                issuer=provider.issuer,
                audience=provider.client_id,
                leeway=CLOCK_SKEW_SECONDS,
                nonce=self._derived("nonce", state),
            )
        except ProviderUnavailable:
            raise SsoFailed(
                "unreachable", f"{provider.display_name} cannot be reached right now."
            ) from None
        except JwtRejected as exc:
            raise _rejected(provider, exc.reason) from None
        # OpenID Connect Core §3.1.3.7: with several audiences, azp must be us.
        if len(audiences_of(claims)) > 1 and claims.get("azp") != provider.client_id:
            raise _rejected(provider, "audience")
        return claims

    async def _user(self, provider: SsoProvider, claims: dict[str, Any]) -> User:
        subject, now = str(claims["sub"]), self._clock.now()
        is_admin = (
            provider.admin_group in _groups(claims, provider.groups_claim)
            if provider.admin_group is not None
            else None
        )
        user = await self._identities.user_for(provider.issuer, subject)
        if user is None:
            names = name_candidates(provider, claims)
            user = await self._identities.create_linked_user(
                provider.issuer, subject, names, is_admin=bool(is_admin), now=now
            )
            if user is None:  # linked meanwhile by a concurrent login, or no free name
                user = await self._identities.user_for(provider.issuer, subject)
            if user is None:
                raise SsoFailed("invalid", "No user could be created for this login.")
            return user
        if not user.active:
            raise SsoFailed(
                "deactivated", "Your account on this server is deactivated. Ask an admin."
            )
        updated = await self._identities.logged_in(
            provider.issuer, subject, user.id, is_admin=is_admin, now=now
        )
        if updated is None:
            raise SsoFailed("invalid", "No user could be found for this login.")
        if updated.is_admin != user.is_admin:
            await self._revocations.announce(f"user:{user.id}")
        return updated


def _rejected(provider: SsoProvider, reason: str) -> SsoFailed:
    name = provider.display_name
    if reason == "audience":
        return SsoFailed(
            "audience",
            f"{name} answered with a login meant for another application (wrong audience). "
            "Ask your administrator to check this server's client id at the provider.",
        )
    if reason in ("expired", "not_yet_valid"):
        return SsoFailed(
            "clock",
            f"The clocks of {name} and this server disagree, so the login looks expired or "
            "not yet valid. Ask your administrator to check the time on both.",
        )
    return SsoFailed("invalid", f"The login from {name} could not be verified; try again.")
