"""The app factory: wires routes, templates and middleware. Does no I/O."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from zenml_server.domain.clock import Clock, SystemClock
from zenml_server.http import metrics, openapi_doc
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
from zenml_server.http.context import services_context
from zenml_server.http.errors import error_middleware
from zenml_server.http.keys import CLOCK, SETTINGS, STORE
from zenml_server.http.metrics import metrics_middleware
from zenml_server.http.pages import device_verify, login, sso
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
        middlewares=[metrics_middleware, error_middleware],
        client_max_size=settings.max_request_size,
    )
    app[SETTINGS] = settings
    app[CLOCK] = clock or SystemClock()
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
        trust_policies_api,
        openapi_doc,
        metrics,
        login,
        sso,
        device_verify,
        devices_pages,
        service_accounts_pages,
    ):
        module.setup(app)
    app.router.add_static("/static", root / "static", append_version=False)
    return app
