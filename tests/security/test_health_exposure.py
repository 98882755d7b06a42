"""`/api/health` tells a caller from the network up or down, nothing more (audit finding 8).

Worker ids and hosts, queue depth, database dialect and latency, schema revisions map the
deployment; they go to an admin's bearer token and to callers on loopback only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from myia.db.enums import UserRole
from myia.observability.health import register_check, unregister_check
from tests.factories import login, make_user

REMOTE = ("203.0.113.7", 40000)  # TEST-NET-3: a caller from the network


@pytest.fixture
async def remote(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=REMOTE)
    async with httpx.AsyncClient(transport=transport, base_url="http://myia.example") as c:
        yield c


async def _bearer(client: httpx.AsyncClient, session: AsyncSession, role: UserRole) -> Any:
    user = await make_user(session, role=role)
    return {"Authorization": f"Bearer {await login(client, user.email)}"}


async def test_an_anonymous_caller_from_the_network_learns_only_the_status(
    remote: httpx.AsyncClient,
) -> None:
    response = await remote.get("/api/health")
    assert response.status_code == 200
    assert response.json() == {"status": "healthy"}
    # A forwarded-for header is the server's business (uvicorn, from a trusted proxy only):
    # the app does not believe a client that claims to be local.
    spoofed = await remote.get("/api/health", headers={"X-Forwarded-For": "127.0.0.1"})
    assert spoofed.json() == {"status": "healthy"}


async def test_a_user_or_a_bad_token_learns_only_the_status(
    remote: httpx.AsyncClient, session: AsyncSession
) -> None:
    user = await _bearer(remote, session, UserRole.USER)
    assert (await remote.get("/api/health", headers=user)).json() == {"status": "healthy"}
    forged = {"Authorization": "Bearer not-a-token"}
    response = await remote.get("/api/health", headers=forged)
    assert response.status_code == 200  # a probe with a stale token is not refused
    assert response.json() == {"status": "healthy"}


async def test_an_admin_sees_every_check(remote: httpx.AsyncClient, session: AsyncSession) -> None:
    admin = await _bearer(remote, session, UserRole.ADMIN)
    body = (await remote.get("/api/health", headers=admin)).json()
    assert body["status"] == "healthy"
    assert body["database"]["status"] == "up" and "dialect" in body["database"]
    assert {"queue", "workers"} <= body.keys()


@pytest.mark.parametrize("address", ["127.0.0.1", "::1"])
async def test_a_loopback_caller_sees_every_check(app: FastAPI, address: str) -> None:
    """`curl localhost:8000/api/health` on the server, `myia validate`, a local agent."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as local:
        body = (await local.get("/api/health")).json()
    assert body["database"]["status"] == "up" and "workers" in body


async def test_down_is_told_without_saying_what(remote: httpx.AsyncClient) -> None:
    async def broken() -> dict[str, Any]:
        raise ConnectionRefusedError("redis://:hunter2@cache.internal:6379")

    register_check("cache-internal", broken)
    try:
        response = await remote.get("/api/health")
    finally:
        unregister_check("cache-internal")
    assert response.status_code == 503
    assert response.json() == {"status": "unhealthy"}
