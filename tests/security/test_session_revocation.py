"""Ending a session ends it everywhere (security audit, finding 4; CSRF part of finding 8).

A logout (web or API), a password reset, a role change and `myia users disable` raise the
user's session version (src/myia/auth/sessions.py): the web cookie and every bearer token
issued before stop working at once on the server that did it and on another server sharing
the database and Redis, whose cached principal and cached catalog answers are dropped
through the cache's Redis channel. The web session has its own, shorter lifetime
(WEB_SESSION_TTL_MINUTES), and a CSRF token is bound to the session it was rendered in.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from myia.cli.main import app as cli_app
from myia.config import DEMO_JWT_SECRET, Settings, reset_settings_cache
from myia.web.csrf import CSRF_COOKIE
from myia.web.session import SESSION_COOKIE
from tests.conftest import make_settings
from tests.factories import make_small_catalog, make_user, run_on
from tests.security.conftest import LiveApp

PASSWORD = "secret-pw"
_CSRF_META = re.compile(r'<meta name="csrf-token" content="([0-9a-f]+)">')


def _csrf_of(html: str) -> str:
    found = _CSRF_META.search(html)
    assert found, "the page carries no CSRF token"
    return found.group(1)


# --- two servers sharing the database and Redis --------------------------------------------
@pytest.fixture
def servers(db_url: str, redis_url: str) -> Iterator[tuple[LiveApp, LiveApp]]:
    """Two app instances (each its own event loop, principal cache and Redis listener)."""

    async def seed(session: AsyncSession) -> None:
        await make_small_catalog(session)

    run_on(db_url, seed)
    apps: list[LiveApp] = []
    try:
        for _ in range(2):
            apps.append(LiveApp(db_url, REDIS_URL=redis_url).start())
        yield apps[0], apps[1]
    finally:
        for app in apps:
            app.stop()


def _new_user(db_url: str) -> str:
    async def make(session: AsyncSession) -> str:
        return (await make_user(session, password=PASSWORD)).email

    return str(run_on(db_url, make))


def _web_login(server: LiveApp, email: str, password: str = PASSWORD) -> tuple[str, str]:
    """Log in through the form, as a browser does: the session cookie, and the CSRF nonce
    cookie with the token its pages now carry."""
    with httpx.Client(base_url=server.url, timeout=30) as browser:
        page = browser.get("/login")
        assert page.status_code == 200
        signed_in = browser.post(
            "/login",
            data={"email": email, "password": password, "csrf_token": _csrf_of(page.text)},
        )
        assert signed_in.status_code == 303, signed_in.text
        settings = browser.get("/settings")
        assert settings.status_code == 200
        return browser.cookies[SESSION_COOKIE], browser.cookies[CSRF_COOKIE]


def _settings_page(server: LiveApp, cookie: str) -> int:
    """/settings with the session cookie replayed by hand, as a thief would."""
    with httpx.Client(base_url=server.url, timeout=30) as thief:
        thief.cookies.set(SESSION_COOKIE, cookie)
        return thief.get("/settings").status_code


def _me(server: LiveApp, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.get(f"{server.url}/api/auth/me", headers=headers, timeout=30).status_code


def _models(server: LiveApp, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.get(f"{server.url}/api/v2/models", headers=headers, timeout=30).status_code


def _sessions_open(servers: tuple[LiveApp, LiveApp], email: str) -> tuple[str, str]:
    """A web session and a bearer token, both honoured by both servers, each of which now
    holds the user in its principal cache and a catalog page in its response cache."""
    cookie, _nonce = _web_login(servers[0], email)
    token = servers[1].token(email, PASSWORD)
    for server in servers:
        assert _settings_page(server, cookie) == 200
        assert _me(server, cookie) == 200  # the cookie is a bearer token too
        assert _me(server, token) == 200
        assert _models(server, token) == 200
    return cookie, token


def _assert_ended(servers: tuple[LiveApp, LiveApp], cookie: str, token: str) -> None:
    for server in servers:
        assert _settings_page(server, cookie) == 303, server.url  # to /login
        assert _me(server, cookie) == 401, server.url
        assert _me(server, token) == 401, server.url
        assert _models(server, token) == 401, server.url  # not from the response cache


def _web_logout(server: LiveApp, cookie: str) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as browser:
        browser.cookies.set(SESSION_COOKIE, cookie)
        page = browser.get("/settings")
        assert page.status_code == 200
        out = browser.post("/logout", data={"csrf_token": _csrf_of(page.text)})
        assert out.status_code == 303 and out.headers["location"] == "/login"
        assert f'{SESSION_COOKIE}=""' in out.headers["set-cookie"]  # this browser's copy


def test_web_logout_ends_the_cookie_and_every_token_on_every_server(
    db_url: str, servers: tuple[LiveApp, LiveApp]
) -> None:
    email = _new_user(db_url)
    cookie, token = _sessions_open(servers, email)
    _web_logout(servers[0], cookie)
    _assert_ended(servers, cookie, token)
    # Logging in again opens a new session, on either server.
    again, _ = _web_login(servers[1], email)
    fresh = servers[0].token(email, PASSWORD)
    for server in servers:
        assert _settings_page(server, again) == 200
        assert _me(server, fresh) == 200


def test_api_logout_ends_the_token_and_the_web_session_on_every_server(
    db_url: str, servers: tuple[LiveApp, LiveApp]
) -> None:
    email = _new_user(db_url)
    cookie, token = _sessions_open(servers, email)
    out = httpx.post(
        f"{servers[0].url}/api/auth/logout",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert out.status_code == 204, out.text
    _assert_ended(servers, cookie, token)
    again = httpx.post(
        f"{servers[1].url}/api/auth/logout",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert again.status_code == 401  # an ended session cannot be used even to log out
    assert _me(servers[1], servers[1].token(email, PASSWORD)) == 200


# --- what an operator does from the CLI ----------------------------------------------------
@pytest.fixture
def operator(
    db_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., Any]]:
    """`myia …` as an operator runs it beside the servers: same database and Redis."""
    monkeypatch.setenv("MYIA_MODE", "test")
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("LOG_TO_DB", "false")
    reset_settings_cache()
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> None:
        result = runner.invoke(cli_app, list(args), input=input)
        assert result.exit_code == 0, result.output

    try:
        yield invoke
    finally:
        reset_settings_cache()


@pytest.mark.parametrize("change", ["reset-password", "set-role", "disable"])
def test_an_operator_change_ends_the_users_sessions_on_every_server(
    change: str,
    db_url: str,
    servers: tuple[LiveApp, LiveApp],
    operator: Callable[..., Any],
) -> None:
    email = _new_user(db_url)
    cookie, token = _sessions_open(servers, email)
    if change == "reset-password":
        operator("users", "reset-password", email, "--password-stdin", input="new-secret\n")
    elif change == "set-role":
        operator("users", "set-role", email, "user")  # the role it has: nothing changes
        for server in servers:
            assert (_settings_page(server, cookie), _me(server, token)) == (200, 200)
        operator("users", "set-role", email, "admin")
    else:
        operator("users", "disable", email, "--yes")
    _assert_ended(servers, cookie, token)
    if change == "disable":
        operator("users", "enable", email)  # the old sessions stay ended
        _assert_ended(servers, cookie, token)
        return
    password = "new-secret" if change == "reset-password" else PASSWORD
    fresh = servers[1].token(email, password)
    assert _me(servers[0], fresh) == 200


# --- in process: the cookie's lifetime, CSRF bound to the session --------------------------
@pytest.fixture
def settings(db_url: str) -> Settings:
    return make_settings(DATABASE_URL=db_url, WEB_SESSION_TTL_MINUTES=17)


async def _sign_in(client: httpx.AsyncClient, email: str) -> tuple[httpx.Response, str]:
    page = await client.get("/login")
    before = _csrf_of(page.text)
    response = await client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": before}
    )
    assert response.status_code == 303, response.text
    return response, before


async def test_the_web_cookie_lives_as_long_as_its_own_setting_says(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    user = await make_user(session, password=PASSWORD)
    response, _ = await _sign_in(client, user.email)
    cookie = next(c for c in response.headers.get_list("set-cookie") if SESSION_COOKIE in c)
    assert "Max-Age=1020" in cookie  # 17 minutes, not JWT_TTL_MINUTES
    claims = jwt.decode(client.cookies[SESSION_COOKIE], DEMO_JWT_SECRET, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == 17 * 60
    api = await client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
    bearer = jwt.decode(api.json()["access_token"], DEMO_JWT_SECRET, algorithms=["HS256"])
    assert bearer["exp"] - bearer["iat"] == 12 * 60 * 60  # JWT_TTL_MINUTES, unchanged


def test_the_web_session_is_shorter_than_a_bearer_token_by_default() -> None:
    defaults = make_settings()
    assert defaults.web_session_ttl_minutes <= 8 * 60 < defaults.jwt_ttl_minutes


async def test_a_csrf_token_from_before_login_is_refused_after_it(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    user = await make_user(session, password=PASSWORD)
    _, before = await _sign_in(client, user.email)
    page = await client.get("/settings")
    assert page.status_code == 200
    after = _csrf_of(page.text)
    assert after != before
    theme = {"theme": "dark", "default_region": ""}
    refused = await client.post("/settings/preferences", data={"csrf_token": before, **theme})
    assert refused.status_code == 403
    refused = await client.post("/logout", headers={"X-CSRF-Token": before})
    assert refused.status_code == 403
    assert (await client.get("/settings")).status_code == 200  # still signed in
    taken = await client.post("/settings/preferences", data={"csrf_token": after, **theme})
    assert taken.status_code == 303
    # Nor does a token of one session work in the next one, after a logout and a login.
    assert (await client.post("/logout", data={"csrf_token": after})).status_code == 303
    await _sign_in(client, user.email)
    refused = await client.post("/settings/preferences", data={"csrf_token": after, **theme})
    assert refused.status_code == 403


async def test_a_csrf_token_that_is_not_ascii_is_refused_not_an_error(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    user = await make_user(session, password=PASSWORD)
    await _sign_in(client, user.email)
    refused = await client.post("/logout", data={"csrf_token": "é" * 64})
    assert refused.status_code == 403


async def test_web_logout_ends_the_session_and_a_stale_logout_ends_no_other(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """In process, without Redis: the copied cookie stops working after the logout; and an
    old tab's logout, with a cookie already ended, clears that browser only, not the session
    the user has opened since."""
    user = await make_user(session, password=PASSWORD)
    await _sign_in(client, user.email)
    stale = client.cookies[SESSION_COOKIE]
    page = await client.get("/settings")
    out = await client.post("/logout", data={"csrf_token": _csrf_of(page.text)})
    assert out.status_code == 303
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as old_tab:
        old_tab.cookies.set(SESSION_COOKIE, stale)
        replayed = await old_tab.get("/settings")
        assert replayed.status_code == 303 and replayed.headers["location"].startswith("/login")
        bearer = {"Authorization": f"Bearer {stale}"}
        assert (await old_tab.get("/api/auth/me", headers=bearer)).status_code == 401

        await _sign_in(client, user.email)
        current = client.cookies[SESSION_COOKIE]
        login_page = await old_tab.get("/login")
        out = await old_tab.post("/logout", data={"csrf_token": _csrf_of(login_page.text)})
        assert out.status_code == 303
    assert (await client.get("/settings")).status_code == 200
    assert client.cookies[SESSION_COOKIE] == current
