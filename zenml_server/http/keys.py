"""Every typed key the app and its requests carry, in one place."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from zenml_server.domain.audit import AuditScope
from zenml_server.domain.clock import Clock
from zenml_server.domain.models import Principal
from zenml_server.settings import Settings

if TYPE_CHECKING:
    from zenml_server.http.context import Services  # noqa: F401 - named in a string below
    from zenml_server.http.metrics import Metrics  # noqa: F401 - named in a string below
    from zenml_server.storage.store import Store  # noqa: F401 - named in a string below


SETTINGS = web.AppKey("settings", Settings)
CLOCK = web.AppKey("clock", Clock)
# Set by the start-up context (it needs I/O): the store and the services built over it.
STORE = web.AppKey["Store"]("store")
SERVICES = web.AppKey["Services"]("services")

# A token request handler: (request, form fields) -> the token response.
GrantHandler = Callable[[web.Request, dict[str, str]], Awaitable[web.Response]]
# grant_type -> handler; each feature's setup() adds its own (see http/api/tokens.py).
GRANTS = web.AppKey("grants", dict[str, GrantHandler])

# Per-process counters behind /metrics (see http/metrics.py).
METRICS = web.AppKey["Metrics"]("metrics")

# The files under /static, by name (see http/pages/static.py).
STATIC_FILES = web.AppKey("static_files", dict[str, Path])

# Works out who acts in a request, for the audit trail (see http/audit_scope.py).
ScopeOf = Callable[[web.Request], AuditScope]
AUDIT_SCOPE = web.AppKey[ScopeOf]("audit_scope")

REQUEST_ID = web.RequestKey("request_id", str)
PRINCIPAL = web.RequestKey("principal", Principal)
# The client's address as walked through trusted proxies (http/auth.py client_ip).
CLIENT_IP = web.RequestKey("client_ip", str)
