"""Keyless login's cost: token exchanges/s vs API-key logins/s on one server process (SQLite),
same client and concurrency, and how often the issuer's JWKS is fetched (once, not per
exchange). A small timing script, not part of ``make bench``:

    .venv/bin/python -m bench.federation [N]
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

import aiohttp

from bench.servers import ADMIN_PASSWORD, JWT_SECRET, free_port
from tests.federation.issuer import serving_issuer

CONCURRENCY = 8
GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt"


async def _rate(session: aiohttp.ClientSession, url: str, forms: list[dict[str, str]]) -> float:
    """Requests per second for POSTing every form, CONCURRENCY at a time; all must be 200."""
    queue = list(forms)
    failures: list[int] = []

    async def worker() -> None:
        while queue:
            async with session.post(url, data=queue.pop()) as resp:
                await resp.read()
                if resp.status != 200:
                    failures.append(resp.status)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    elapsed = time.perf_counter() - start
    assert not failures, f"{len(failures)} failed logins, e.g. HTTP {failures[0]}"
    return len(forms) / elapsed


async def _json(session: aiohttp.ClientSession, method: str, url: str, **kw: object) -> dict:  # type: ignore[type-arg]
    async with session.request(method, url, **kw) as resp:  # type: ignore[arg-type]
        assert resp.status in (200, 201), await resp.text()
        body: dict = await resp.json()  # type: ignore[type-arg]
        return body


async def _measure(base: str, n: int) -> None:
    async with aiohttp.ClientSession() as session:
        login = await _json(
            session,
            "POST",
            base + "/api/v1/login",
            data={"username": "admin", "password": ADMIN_PASSWORD},
        )
        auth = {"Authorization": f"Bearer {login['access_token']}"}
        accounts = base + "/api/v1/service_accounts"
        await _json(session, "POST", accounts, json={"name": "ci"}, headers=auth)
        key = await _json(
            session, "POST", accounts + "/ci/api_keys", json={"name": "k"}, headers=auth
        )
        async with serving_issuer() as issuer:
            policy = {
                "issuer": issuer.url,
                "audience": "https://zenml.example.com",
                "claims": {"sub": "system:serviceaccount:ml:*"},
            }
            await _json(session, "POST", accounts + "/ci/trust_policies", json=policy, headers=auth)
            # Each subject token is accepted once: sign them all before timing.
            exchanges = [
                {
                    "grant_type": GRANT,
                    "subject_token": issuer.token(),
                    "subject_token_type": JWT_TYPE,
                }
                for _ in range(n)
            ]
            key_logins = [{"grant_type": "zenml-api-key", "password": key["key"]}] * n
            url = base + "/api/v1/login"
            await _rate(session, url, exchanges[:50])  # warm-up; the first fetches the keys
            await _rate(session, url, key_logins[:50])
            half = (n - 50) // 2
            print(f"one server process on SQLite, concurrency {CONCURRENCY}")
            for i in range(2):
                ex = await _rate(session, url, exchanges[50 + i * half : 50 + (i + 1) * half])
                kl = await _rate(session, url, key_logins[:half])
                print(
                    f"round {i + 1}: exchanges {ex:6.0f}/s  "
                    f"API-key logins {kl:6.0f}/s  ratio {ex / kl:.2f}"
                )
            print(f"issuer fetched over {n} exchanges: {issuer.fetches}")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1500
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("ZENML_SERVER_")},
            "ZENML_SERVER_DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite",
            "ZENML_SERVER_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "ZENML_SERVER_JWT_SECRET_KEY": JWT_SECRET,
            "ZENML_SERVER_RATE_LIMIT_SCALE": "100000",
            "ZENML_SERVER_LOG_LEVEL": "WARNING",
        }
        command = [sys.executable, "-m", "zenml_server", "--host", "127.0.0.1", "--port", str(port)]
        server = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_healthy(base)
            asyncio.run(_measure(base, n))
        finally:
            server.terminate()
            server.wait(timeout=10)


def _wait_healthy(base: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(base + "/health", timeout=1):  # noqa: S310 - loopback
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


if __name__ == "__main__":
    main()
