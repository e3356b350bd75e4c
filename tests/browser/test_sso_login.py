"""Single sign-on in real chromium through a real OpenID provider (node-oidc-provider):
log in at the company's provider, land back logged in, approve a `zenml connect`; users are
created on first login, linked by (issuer, subject); admin rights follow the group claim;
a deactivated user stays out; cancelling at the provider is a clear page."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.builders import ADMIN_PASSWORD, make_settings
from tests.federation.oidc_provider import (
    SSO_CLIENT_ID,
    SSO_CLIENT_SECRET,
    OidcProvider,
    oidc_provider_dir,
    running_provider,
)
from tests.servers import free_port
from zenml_server.http.app import create_app
from zenml_server.settings import SsoProvider

__all__ = ["oidc_provider_dir"]
pytestmark = pytest.mark.browser
ZENML = str(Path(sys.executable).with_name("zenml"))


@pytest.fixture
async def sso_server(oidc_provider_dir: Path, tmp_path: Path) -> AsyncIterator[str]:
    """Our server (SQLite) with the real provider configured as "acme"; yields its URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    callback = f"{base}/sso/acme/callback"
    with running_provider(oidc_provider_dir, tmp_path, [callback]) as provider:
        settings = make_settings(
            database_url=f"sqlite:///{tmp_path}/server.sqlite",
            url=base,
            sso_providers=(_acme(provider),),
            device_auth_polling_interval=1,
        )
        runner = web.AppRunner(create_app(settings), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            yield base
        finally:
            await runner.cleanup()


def _acme(provider: OidcProvider) -> SsoProvider:
    return SsoProvider(
        name="acme",
        issuer=provider.issuer,
        client_id=SSO_CLIENT_ID,
        client_secret=SSO_CLIENT_SECRET,
        display_name="Acme SSO",
        scopes=("openid", "profile", "email", "groups"),
        admin_group="zenml-admins",
    )


async def _sso_login(page: Any, base: str, login: str, target: str = "/") -> None:
    """Log in through the provider's own login form, starting at our login page."""
    if not page.url.startswith(f"{base}/login"):
        await page.goto(f"{base}/login?next={target}")
    await page.click("text=Log in with Acme SSO")
    await page.fill("input[name=login]", login)
    await page.fill("input[name=password]", "any-password")
    await page.click("button[type=submit]")


async def _api(
    session: aiohttp.ClientSession, method: str, url: str, token: str | None = None, **kw: Any
) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with session.request(method, url, headers=headers, **kw) as resp:
        return resp.status, await resp.json()


async def _admin_token(session: aiohttp.ClientSession, base: str) -> str:
    status, body = await _api(
        session,
        "POST",
        f"{base}/api/v1/login",
        data={"username": "admin", "password": ADMIN_PASSWORD},
    )
    assert status == 200, body
    token: str = body["access_token"]
    return token


async def _user(session: aiohttp.ClientSession, base: str, token: str, name: str) -> Any:
    status, body = await _api(session, "GET", f"{base}/api/v1/users/{name}", token)
    return body if status == 200 else None


async def test_log_in_with_the_provider_and_approve_a_device(
    page: Any, sso_server: str, tmp_path: Path
) -> None:
    """`zenml connect` → browser → company login → approve: the CLI is connected as the user
    the provider vouched for."""
    base = sso_server
    env = {**os.environ, "ZENML_CONFIG_PATH": str(tmp_path / "cfg")}
    for name in ("ZENML_STORE_URL", "ZENML_STORE_API_KEY", "ZENML_STORE_OIDC_TOKEN"):
        env.pop(name, None)
    cli = await asyncio.create_subprocess_exec(
        ZENML,
        "connect",
        "--url",
        base,
        "--no-browser",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert cli.stdout is not None
    link = code = None
    while link is None or code is None:
        line = (await asyncio.wait_for(cli.stdout.readline(), 30)).decode()
        assert line, "the CLI ended before printing the link"
        if line.strip().startswith(f"{base}/devices/verify?"):
            link = line.strip()
        if "Your code:" in line:
            code = line.split("Your code:")[1].strip()
    await page.goto(link)
    assert "/login" in page.url
    await _sso_login(page, base, "alice")
    await page.wait_for_selector("text=Is this your device?")
    assert code in await page.inner_text("main")
    await page.click("button[value=authorize]")
    await page.wait_for_selector("text=Device authorized")
    out, err = await asyncio.wait_for(cli.communicate(), 60)
    assert cli.returncode == 0, err.decode()
    assert f"Connected to {base} as alice." in out.decode()


async def test_users_are_linked_by_subject_and_admin_follows_the_group(
    browser: Any, sso_server: str
) -> None:
    """First login creates the user; a name already taken is not taken over; admin rights
    follow the provider's group at every login, whatever was set here in between."""
    base = sso_server
    async with aiohttp.ClientSession() as session:
        admin = await _admin_token(session, base)
        # A local "bob" exists: the provider's bob must not become him.
        status, _ = await _api(
            session,
            "POST",
            f"{base}/api/v1/users",
            admin,
            json={"name": "bob", "password": "local-password-1"},
        )
        assert status == 201
        for login in ("bob", "admin-carol", "bob"):
            context = await browser.new_context()
            page = await context.new_page()
            await _sso_login(page, base, login)
            await page.wait_for_url(f"{base}/")
            await context.close()
        users = {
            u["name"]: u
            for u in (await _api(session, "GET", f"{base}/api/v1/users", admin))[1]["items"]
        }
        assert "bob@acme" in users and users["bob"]["is_admin"] is False
        assert users["admin-carol"]["is_admin"] is True
        assert users["bob@acme"]["is_admin"] is False
        # An admin here flips both; the next SSO login puts them back as the provider says.
        for name, flag in (("admin-carol", False), ("bob@acme", True)):
            status, _ = await _api(
                session, "PUT", f"{base}/api/v1/users/{name}", admin, json={"is_admin": flag}
            )
            assert status == 200
        for login in ("admin-carol", "bob"):
            context = await browser.new_context()
            page = await context.new_page()
            await _sso_login(page, base, login)
            await page.wait_for_url(f"{base}/")
            await context.close()
        assert (await _user(session, base, admin, "admin-carol"))["is_admin"] is True
        assert (await _user(session, base, admin, "bob@acme"))["is_admin"] is False


async def test_a_deactivated_user_stays_out(page: Any, sso_server: str) -> None:
    """A user deactivated here gets a clear page, whatever the provider says."""
    base = sso_server
    async with aiohttp.ClientSession() as session:
        admin = await _admin_token(session, base)
        await _sso_login(page, base, "dave")
        await page.wait_for_url(f"{base}/")
        status, _ = await _api(
            session, "PUT", f"{base}/api/v1/users/dave", admin, json={"active": False}
        )
        assert status == 200
        await page.goto(f"{base}/devices")
        assert "/login" in page.url
        # The provider still knows dave (its own session): it sends him straight back.
        await page.click("text=Log in with Acme SSO")
        await page.wait_for_selector("text=Your account is deactivated")
        await page.goto(f"{base}/devices")
        assert "/login" in page.url


async def test_cancelling_at_the_provider_is_a_clear_page(page: Any, sso_server: str) -> None:
    """Cancelling the provider's login brings the person back to a page that says so."""
    base = sso_server
    await page.goto(f"{base}/login")
    await page.click("text=Log in with Acme SSO")
    await page.wait_for_selector("input[name=login]")
    await page.click("text=Cancel")
    await page.wait_for_selector("text=Login cancelled")
    assert page.url.startswith(f"{base}/sso/acme/callback")
