"""The app factory: wires routes, templates and middleware. Does no I/O."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from zenml_server.domain.clock import Clock, SystemClock
from zenml_server.http import metrics, openapi_doc
from zenml_server.http.api import audit as audit_api
from zenml_server.http.api import (
    device_cancel,
    health,
    introspection,
    jwks,
    token_revocation,
    tokens,
    users,
)
from zenml_server.http.api import device_flow as device_flow_api
from zenml_server.http.api import devices as devices_api
from zenml_server.http.api import service_accounts as service_accounts_api
from zenml_server.http.api import trust_policies as trust_policies_api
from zenml_server.http.audit_scope import request_scope
from zenml_server.http.context import services_context
from zenml_server.http.keys import AUDIT_SCOPE, CLOCK, SETTINGS, STORE
from zenml_server.http.middleware import request_middleware
from zenml_server.http.pages import (
    account,
    device_verify,
    login,
    service_account_actions,
    sso,
    static,
)
from zenml_server.http.pages import audit as audit_pages
from zenml_server.http.pages import devices as devices_pages
from zenml_server.http.pages import service_accounts as service_accounts_pages
from zenml_server.settings import Settings
from zenml_server.storage.store import Store


def web_root() -> Path:
    return Path(str(resources.files("zenml_server.web")))


def create_app(
    settings: Settings, *, store: Store | None = None, clock: Clock | None = None
) -> web.Application:
    """Build the application. With ``store`` given, the caller owns it (tests)."""
    app = web.Application(
        middlewares=[request_middleware],
        client_max_size=settings.max_request_size,
    )
    app[SETTINGS] = settings
    app[CLOCK] = clock or SystemClock()
    app[AUDIT_SCOPE] = request_scope
    if store is not None:
        app[STORE] = store
    root = web_root()
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(str(root / "templates")),
        autoescape=True,
    )
    app.cleanup_ctx.append(services_context)
    for module in (
        health,
        tokens,
        users,
        device_flow_api,
        device_cancel,
        devices_api,
        service_accounts_api,
        jwks,
        token_revocation,
        introspection,
        audit_api,
        trust_policies_api,
        openapi_doc,
        metrics,
        login,
        sso,
        device_verify,
        devices_pages,
        service_accounts_pages,
        service_account_actions,
        audit_pages,
        account,
    ):
        module.setup(app)
    static.setup(app, root / "static")
    return app
