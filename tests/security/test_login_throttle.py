"""One login throttle for the API and the web form: growing delays per (account, address), a
ceiling per address, no lock a stranger can put on someone else's account, and
`myia users unlock EMAIL` (audit findings 2 and 3; the throttle: src/myia/auth/throttle.py).

Time is a fake clock handed to the in-process throttle: no test sleeps or races the machine.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from myia.api.app import create_app
from myia.auth.throttle import LoginThrottle, TooManyAttemptsError
from myia.cli.main import app as cli_app
from myia.config import reset_settings_cache
from myia.db.engine import Database
from tests.conftest import make_settings
from tests.factories import make_user
from tests.web.conftest import csrf_of

RIGHT = "the-right-one"
ATTACKER, OWNER = "10.0.0.66", "10.0.0.7"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@asynccontextmanager
async def serving(
    database: Database, db_url: str, clock: FakeClock | None = None, **settings: Any
) -> AsyncIterator[FastAPI]:
    """The app; with `clock`, its (in-process) login throttle runs on that clock."""
    app = create_app(make_settings(DATABASE_URL=db_url, **settings), database)
    if clock is not None:
        app.state.myia.login_throttle = LoginThrottle.from_settings(
            app.state.myia.settings, clock=clock
        )
    async with app.router.lifespan_context(app):
        yield app


@asynccontextmanager
async def client_at(app: FastAPI, address: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def api_login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/api/auth/login", json={"email": email, "password": password})


async def web_login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    page = await client.get("/login")
    assert page.status_code == 200, page.text
    data = {"email": email, "password": password, "csrf_token": csrf_of(page.text)}
    return await client.post("/login", data=data)


LOGINS = {"api": api_login, "web": web_login}
WRONG_STATUS = {"api": 401, "web": 400}
OK_STATUS = {"api": 200, "web": 303}


def unique_address() -> str:
    """Redis outlives a test run and is shared by concurrent ones: an address of our own."""
    raw = uuid.uuid4().bytes
    return f"10.{raw[0]}.{raw[1]}.{raw[2]}"


def assert_throttled(response: httpx.Response, *, retry_after: int | None = None) -> None:
    assert response.status_code == 429, response.text
    assert int(response.headers["retry-after"]) >= 1
    if retry_after is not None:
        assert int(response.headers["retry-after"]) == retry_after
    assert "too many failed logins" in response.text.lower()


async def test_the_web_form_is_throttled_and_refuses_even_the_right_password(
    database: Database, db_url: str, session: AsyncSession
) -> None:
    """The audit: 30 wrong web logins from one address all got 400, then the right one got in."""
    user = await make_user(session, password=RIGHT)
    clock = FakeClock()
    async with serving(database, db_url, clock) as app, client_at(app, ATTACKER) as client:
        statuses = [(await web_login(client, user.email, "wrong")).status_code for _ in range(30)]
        first = statuses.index(429)
        # Defaults: LOGIN_MAX_FAILURES (5) answered at once, then the pair waits.
        assert first == 5, statuses
        assert set(statuses[:first]) == {400} and set(statuses[first:]) == {429}, statuses

        refused = await web_login(client, user.email, RIGHT)
        assert_throttled(refused, retry_after=1)
        assert "Too many failed logins: try again in 1 seconds." in refused.text
        assert (await client.get("/chat")).status_code == 303  # still signed out

        clock.advance(1)  # the wait is over: the right password works again
        assert (await web_login(client, user.email, RIGHT)).status_code == 303


async def test_web_and_api_logins_share_one_throttle(
    database: Database, db_url: str, session: AsyncSession
) -> None:
    user = await make_user(session, password=RIGHT)
    async with (
        serving(database, db_url, FakeClock(), LOGIN_MAX_FAILURES=4) as app,
        client_at(app, ATTACKER) as client,
    ):
        for login in (web_login, api_login, web_login, api_login):
            assert (await login(client, user.email, "wrong")).status_code in (400, 401)
        assert_throttled(await api_login(client, user.email, RIGHT))
        assert_throttled(await web_login(client, user.email, RIGHT))


@pytest.mark.parametrize("channel", ["api", "web"])
async def test_a_stranger_cannot_lock_the_owner_out(
    database: Database, db_url: str, session: AsyncSession, channel: str
) -> None:
    """Failures from address A slow down A only; the owner at address B logs in at once."""
    login, victim = LOGINS[channel], await make_user(session, password=RIGHT)
    async with (
        serving(database, db_url, FakeClock()) as app,
        client_at(app, ATTACKER) as attacker,
        client_at(app, OWNER) as owner,
    ):
        statuses = [(await login(attacker, victim.email, "guess")).status_code for _ in range(30)]
        assert statuses.count(WRONG_STATUS[channel]) == 5 and statuses[-1] == 429, statuses
        assert_throttled(await login(attacker, victim.email, RIGHT))

        assert (await login(owner, victim.email, RIGHT)).status_code == OK_STATUS[channel]


async def test_each_further_failure_doubles_the_wait_up_to_the_cap(
    database: Database, db_url: str, session: AsyncSession
) -> None:
    user = await make_user(session, password=RIGHT)
    clock = FakeClock()
    settings = {"LOGIN_MAX_FAILURES": 2, "LOGIN_MAX_DELAY_S": 6}
    async with (
        serving(database, db_url, clock, **settings) as app,
        client_at(app, ATTACKER) as client,
    ):
        for _ in range(2):
            assert (await api_login(client, user.email, "wrong")).status_code == 401
        waits = []
        for _ in range(5):
            refused = await api_login(client, user.email, "wrong")
            assert_throttled(refused)
            wait = int(refused.headers["retry-after"])
            waits.append(wait)
            clock.advance(wait - 0.5)  # not quite over: still refused, and not counted
            assert_throttled(await api_login(client, user.email, RIGHT), retry_after=1)
            clock.advance(0.5)
            assert (await api_login(client, user.email, "wrong")).status_code == 401
        assert waits == [1, 2, 4, 6, 6]

        clock.advance(6)
        assert (await api_login(client, user.email, RIGHT)).status_code == 200
        # A success clears the pair: its free failures are back.
        for _ in range(2):
            assert (await api_login(client, user.email, "wrong")).status_code == 401


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_the_schedule_is_the_same_in_process_and_in_redis(
    backend: str, request: pytest.FixtureRequest
) -> None:
    """failed() straight after failed(): the Retry-After a check would give, per failure."""
    redis_url = request.getfixturevalue("redis_url") if backend == "redis" else None
    throttle = LoginThrottle(
        max_failures=3,
        max_failures_per_address=1000,
        lockout_s=900,
        max_delay_s=20,
        redis_url=redis_url,
        prefix=f"myia:test:{uuid.uuid4().hex}",
    )
    email, address = "someone@example.com", unique_address()
    waits = []
    try:
        for _ in range(9):
            await throttle.failed(email=email, address=address)
            try:
                await throttle.check(email=email, address=address)
                waits.append(0)
            except TooManyAttemptsError as exc:
                waits.append(exc.retry_after_s)
        await throttle.check(email=email, address=unique_address())  # another address: free
        assert await throttle.unlock(email=email) == 1
        await throttle.check(email=email, address=address)
    finally:
        await throttle.close()
    assert waits == [0, 0, 1, 2, 4, 8, 16, 20, 20]


async def test_one_address_hits_a_ceiling_across_accounts(
    database: Database, db_url: str, session: AsyncSession
) -> None:
    """A password spray, through both logins, blocks the address, not the accounts."""
    user = await make_user(session, password=RIGHT)
    clock = FakeClock()
    settings = {"LOGIN_MAX_FAILURES_PER_ADDRESS": 4, "LOGIN_LOCKOUT_S": 600}
    async with (
        serving(database, db_url, clock, **settings) as app,
        client_at(app, ATTACKER) as sprayer,
        client_at(app, OWNER) as elsewhere,
    ):
        for n, login in enumerate((api_login, web_login, api_login, web_login)):
            assert (await login(sprayer, f"spray{n}@example.com", "pw")).status_code in (400, 401)
        assert_throttled(await api_login(sprayer, user.email, RIGHT), retry_after=600)
        assert_throttled(await web_login(sprayer, user.email, RIGHT), retry_after=600)

        assert (await api_login(elsewhere, user.email, RIGHT)).status_code == 200
        clock.advance(600)
        assert (await api_login(sprayer, user.email, RIGHT)).status_code == 200


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    def use(**env: str) -> None:
        monkeypatch.setenv("MYIA_MODE", "test")
        for name in ("REDIS_URL", "QUEUE_URL"):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        reset_settings_cache()

    yield use
    reset_settings_cache()


async def test_users_unlock_clears_the_account_through_redis(
    database: Database,
    db_url: str,
    session: AsyncSession,
    redis_url: str,
    cli_env: Callable[..., None],
) -> None:
    """The operator's way out: failures from two addresses on one account, both cleared."""
    user = await make_user(session, password=RIGHT)
    first, second = unique_address(), unique_address()
    async with (
        serving(database, db_url, REDIS_URL=redis_url) as app,
        client_at(app, first) as one,
        client_at(app, second) as two,
    ):
        # Redis keeps real time: a first wait long enough that no slow machine outlives it.
        await app.state.myia.login_throttle.close()
        app.state.myia.login_throttle = LoginThrottle(
            max_failures=3,
            max_failures_per_address=100,
            lockout_s=900,
            first_delay_s=300,
            redis_url=redis_url,
        )
        for client in (one, two):
            statuses = [(await api_login(client, user.email, "x")).status_code for _ in range(6)]
            assert statuses == [401, 401, 401, 429, 429, 429]
            assert_throttled(await api_login(client, user.email, RIGHT))

        cli_env(DATABASE_URL=db_url, REDIS_URL=redis_url)
        result = await asyncio.to_thread(
            CliRunner().invoke, cli_app, ["users", "unlock", user.email.upper()]
        )
        assert result.exit_code == 0, result.output
        assert f"Unlocked {user.email}" in result.output and "2 addresses" in result.output

        assert (await api_login(one, user.email, RIGHT)).status_code == 200
        assert (await web_login(two, user.email, RIGHT)).status_code == 303


def test_users_unlock_without_redis_says_where_the_state_is(
    cli_env: Callable[..., None],
) -> None:
    cli_env()
    result = CliRunner().invoke(cli_app, ["users", "unlock", "someone@example.com"])
    assert result.exit_code == 1
    assert "REDIS_URL is not set" in result.output and "Restart" in result.output
