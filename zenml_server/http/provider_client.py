"""HTTP to OpenID providers through aiohttp: the ``Fetcher`` the federation services use.

Bounded: a total timeout, no redirects (a discovery document or key set that moved is an
error, not an invitation to follow), and a cap on the size of what is read.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote_plus

import aiohttp

from zenml_server import __version__
from zenml_server.domain.errors import ProviderUnavailable

TIMEOUT_SECONDS = 10.0
MAX_BODY = 512 * 1024


class ProviderClient:
    """One aiohttp session for every provider; opened and closed with the app."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS),
                headers={"User-Agent": f"zenml-server/{__version__}"},
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def get_json(self, url: str) -> dict[str, Any]:
        status, body = await self._send("GET", url)
        if status != 200:
            raise ProviderUnavailable(f"{url} answered HTTP {status}")
        return body

    async def post_form(
        self, url: str, form: Mapping[str, str], *, basic_auth: tuple[str, str] | None
    ) -> tuple[int, dict[str, Any]]:
        headers = {"Accept": "application/json"}
        if basic_auth is not None:
            # RFC 6749 §2.3.1: both parts form-encoded before they are joined.
            user, password = (quote_plus(part) for part in basic_auth)
            encoded = base64.b64encode(f"{user}:{password}".encode()).decode()
            headers["Authorization"] = f"Basic {encoded}"
        return await self._send("POST", url, data=dict(form), headers=headers)

    async def _send(self, method: str, url: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        try:
            async with self._open().request(
                method,
                url,
                allow_redirects=False,
                **({"headers": {"Accept": "application/json"}} | kwargs),
            ) as response:
                raw = await response.content.read(MAX_BODY + 1)
                status = response.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise ProviderUnavailable(f"{url}: {type(exc).__name__}") from None
        if len(raw) > MAX_BODY:
            raise ProviderUnavailable(f"{url}: the answer is too large")
        try:
            body = json.loads(raw)
        except ValueError:
            raise ProviderUnavailable(f"{url} answered HTTP {status} without JSON") from None
        if not isinstance(body, dict):
            raise ProviderUnavailable(f"{url} answered HTTP {status} without a JSON object")
        return status, body
