"""Page tests without a browser: the ASGI client, a seeded catalog, the demo's two users."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from myia.maintenance.seed import seed_database

USER = ("leo@leo.com", "leoleo")
ADMIN = ("123@123.com", "123123")
_CSRF_META = re.compile(r'<meta name="csrf-token" content="([0-9a-f]+)">')


def csrf_of(html: str) -> str:
    found = _CSRF_META.search(html)
    assert found, "the page carries no CSRF token"
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, email: str, password: str) -> str:
    """Log in through the form; returns a CSRF token for later posts."""
    page = await client.get("/login")
    assert page.status_code == 200
    response = await client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_of(page.text)},
    )
    assert response.status_code == 303, response.text
    return csrf_of((await client.get("/settings")).text)


@pytest.fixture
async def seeded(session: AsyncSession) -> None:
    await seed_database(session=session, demo=True)


@pytest.fixture
async def user_client(client: httpx.AsyncClient, seeded: None) -> httpx.AsyncClient:
    client.headers["x-test-csrf"] = await sign_in(client, *USER)
    return client


@pytest.fixture
async def admin_client(client: httpx.AsyncClient, seeded: None) -> httpx.AsyncClient:
    client.headers["x-test-csrf"] = await sign_in(client, *ADMIN)
    return client
