"""What the app opens at start and closes at stop: the store, the services, background tasks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import uuid
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from zenml_server import __version__
from zenml_server.domain.clock import Clock
from zenml_server.domain.sealing import Sealer
from zenml_server.http.keys import CLOCK, SERVICES, SETTINGS, STORE
from zenml_server.http.provider_client import ProviderClient
from zenml_server.services.approvals import Approvals
from zenml_server.services.audit import Audit
from zenml_server.services.auth import Authenticator
from zenml_server.services.device_flow import DeviceFlow
from zenml_server.services.devices import DeviceAdmin
from zenml_server.services.housekeeping import Housekeeping
from zenml_server.services.introspection import Introspection
from zenml_server.services.last_used import LastUsed
from zenml_server.services.loops import Loops
from zenml_server.services.oidc import OidcProviders
from zenml_server.services.passwords import Passwords
from zenml_server.services.revocation import CredentialCache, Revocations
from zenml_server.services.service_accounts import ServiceAccounts
from zenml_server.services.signing_keys import SigningKeys
from zenml_server.services.sso import SingleSignOn
from zenml_server.services.token_exchange import TokenExchange
from zenml_server.services.token_revocation import RevokedTokens, TokenRevocation
from zenml_server.services.tokens import Tokens
from zenml_server.services.trust_policies import TrustPolicies
from zenml_server.services.users import UserService
from zenml_server.services.wiring import Wiring
from zenml_server.settings import Settings
from zenml_server.storage.migrate import migrate
from zenml_server.storage.store import Store

log = logging.getLogger("zenml_server")

CHANGE_POLL_INTERVAL = 0.25
LAST_USED_FLUSH_INTERVAL = 30.0
HOUSEKEEPING_INTERVAL = 60.0
CHANGE_LOG_RETENTION = 3600.0
AUDIT_FLUSH_INTERVAL = 1.0
SHUTDOWN_TASKS_TIMEOUT = 10.0
# How long each background loop may go without a good round before /ready answers 503.
CHANGE_POLL_BOUND = 15.0
LISTEN_BOUND = 30.0  # heartbeats every 5 s (storage/postgres.py)
LAST_USED_FLUSH_BOUND = 4 * LAST_USED_FLUSH_INTERVAL
HOUSEKEEPING_BOUND = 5 * HOUSEKEEPING_INTERVAL
AUDIT_FLUSH_BOUND = 60 * AUDIT_FLUSH_INTERVAL


@dataclass(frozen=True)
class Services:
    deployment_id: str
    version: str
    # The shared parts (tokens, auth, revocations, last use, housekeeping, store, clock).
    wiring: Wiring
    passwords: Passwords
    users: UserService
    device_flow: DeviceFlow
    approvals: Approvals
    devices: DeviceAdmin
    service_accounts: ServiceAccounts
    token_revocation: TokenRevocation
    signing_keys: SigningKeys
    introspection: Introspection
    # Federation: OpenID providers (HTTP through provider_client), keyless workload login.
    provider_client: ProviderClient
    oidc: OidcProviders
    trust_policies: TrustPolicies
    token_exchange: TokenExchange
    sso: SingleSignOn
    # The background loops' health, read by /ready and /metrics.
    loops: Loops


async def build_services(app: web.Application, store: Store) -> Services:
    """Read the deployment's identity, signing keys and revoked tokens from the store and
    wire the services."""
    settings, clock = app[SETTINGS], app[CLOCK]
    deployment_id = await store.server_settings.get_or_set("deployment_id", str(uuid.uuid4()))
    housekeeping = Housekeeping()
    audit = Audit(store.audit, clock, housekeeping, settings.audit_retention_days)
    keys = signing_keys(store, settings, clock, audit)
    await keys.start()
    # Tokens issued before the issuer became the server's URL stay valid until they expire.
    legacy_issuer = f"zenml-server:{deployment_id}"
    tokens = Tokens(keys, settings.issuer, clock, also_accepted=(legacy_issuer,))
    cache = CredentialCache(settings.revocation_cache_ttl_seconds)
    revocations = Revocations(store.db, store.changes, cache)
    revocations.watch(keys.on_change, keys.reload)
    revoked = RevokedTokens(store.revoked_tokens, clock)
    await revoked.load()
    auth = Authenticator(store, tokens, cache, revoked)
    last_used = LastUsed()
    passwords = Passwords()
    housekeeping.register("web_sessions", lambda: store.sessions.prune(clock.now()))
    housekeeping.register(
        "credential_changes", lambda: store.changes.prune(clock.now() - CHANGE_LOG_RETENTION)
    )
    housekeeping.register("signing_keys", keys.retire)
    wiring = Wiring(
        store=store,
        tokens=tokens,
        auth=auth,
        revocations=revocations,
        last_used=last_used,
        housekeeping=housekeeping,
        clock=clock,
        settings=settings,
        audit=audit,
    )
    device_flow = DeviceFlow(wiring)
    service_accounts = ServiceAccounts(wiring)
    provider_client = ProviderClient()
    oidc = OidcProviders(provider_client, clock)
    return Services(
        deployment_id=deployment_id,
        version=__version__,
        wiring=wiring,
        passwords=passwords,
        users=UserService(wiring, passwords),
        device_flow=device_flow,
        approvals=Approvals(wiring),
        devices=DeviceAdmin(wiring),
        service_accounts=service_accounts,
        token_revocation=TokenRevocation(wiring, revoked, device_flow.revoke),
        signing_keys=keys,
        introspection=Introspection(auth, settings.introspection_service_accounts),
        provider_client=provider_client,
        oidc=oidc,
        trust_policies=TrustPolicies(wiring, service_accounts),
        token_exchange=TokenExchange(wiring, oidc),
        sso=SingleSignOn(wiring, oidc),
        loops=Loops(clock, store.db.availability),
    )


def signing_keys(
    store: Store, settings: Settings, clock: Clock, audit: Audit | None = None
) -> SigningKeys:
    """The keyring as configured (also used by ``zenml-server keys``)."""
    return SigningKeys(
        store,
        Sealer(settings.encryption_key),
        clock,
        configured_secret=settings.jwt_secret_key,
        max_lifetime=settings.max_token_lifetime,
        audit=audit,
    )


async def services_context(app: web.Application) -> AsyncIterator[None]:
    """aiohttp cleanup context: open (and on failure close) only what this start opened."""
    settings = app[SETTINGS]
    opened_store = STORE not in app
    if opened_store:
        store = await Store.open(settings.database_url, pool_size=settings.database_pool_size)
        try:
            applied = await migrate(store.db, app[CLOCK].now())
            if applied:
                log.info("applied migrations %s", applied)
        except BaseException:
            await store.close()
            raise
        app[STORE] = store
    store = app[STORE]
    tasks: list[asyncio.Task[None]] = []
    services: Services | None = None
    try:
        services = await build_services(app, store)
        app[SERVICES] = services
        created = await services.users.bootstrap_admin(
            settings.admin_username, settings.admin_password
        )
        if created is not None:
            _announce_admin(created.user.name, created.generated_password)
        wiring, loops = services.wiring, services.loops
        tasks = _start(
            wiring.revocations.poll_changes(loops, CHANGE_POLL_INTERVAL, CHANGE_POLL_BOUND),
            wiring.last_used.run(loops, LAST_USED_FLUSH_INTERVAL, LAST_USED_FLUSH_BOUND),
            wiring.housekeeping.run(loops, HOUSEKEEPING_INTERVAL, HOUSEKEEPING_BOUND),
            _flushing_audit(wiring.audit, loops),
        )
        if store.db.dialect == "postgresql":
            tasks += _start(wiring.revocations.listen(loops, LISTEN_BOUND))
        yield
    finally:
        for task in tasks:
            task.cancel()
        if tasks:
            # Bounded: a task stuck on a dead database must not hold the shutdown forever.
            await asyncio.wait(tasks, timeout=SHUTDOWN_TASKS_TIMEOUT)
        if services is not None:
            services.passwords.close()
            await services.provider_client.close()
        if opened_store:
            await store.close()


async def _flushing_audit(audit: Audit, loops: Loops) -> None:
    """Write queued audit events every second under ``loops``; once more when cancelled."""
    try:
        await loops.every("audit_flush", audit.flush, AUDIT_FLUSH_INTERVAL, AUDIT_FLUSH_BOUND)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.shield(audit.flush())


def _start(*coros: Coroutine[Any, Any, None]) -> list[asyncio.Task[None]]:
    return [asyncio.create_task(c) for c in coros]


def _announce_admin(name: str, generated_password: str | None) -> None:
    # Printed once on the console, never logged: logs are kept and shipped, consoles are not.
    if generated_password is None:
        print(f"Created the admin user {name!r} with the configured password.", file=sys.stderr)
    else:
        print(password_box(name, generated_password), file=sys.stderr, flush=True)


def password_box(name: str, password: str) -> str:
    """The first-start notice of a generated admin password, framed so it stands out from
    the lines around it (plain ASCII: any console can print it)."""
    lines = [
        f"Created the admin user {name!r} with the generated password:",
        "",
        f"    {password}",
        "",
        "It will not be shown again. Change it after logging in, on the page",
        "/account/password or from a connected CLI:",
        "",
        "    zenml user change-password",
        "",
        "Or choose it: set ZENML_SERVER_ADMIN_PASSWORD before the first start.",
    ]
    width = max(len(line) for line in lines)
    rule = "+" + "-" * (width + 2) + "+"
    body = [f"| {line.ljust(width)} |" for line in lines]
    return "\n".join(["", rule, *body, rule, ""])
