"""The catalog's list reads answered from cached bytes (src/myia/api/response_cache.py): the
same answer FastAPI gives, no database work once cached, never without a valid token of an
active user, never stale after a write, errors never kept, one render for a burst."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from myia.db.engine import Database
from myia.db.enums import UserRole
from myia.telemetry.prom import CACHED_READS
from myia.users.accounts import set_active
from tests.factories import bearer_headers, make_base_model, make_deployment, make_provider
from tests.statements import count_statements

LISTS = ("/api/v2/models", "/api/v2/deployments", "/api/v2/providers")


async def _catalog(session: AsyncSession) -> None:
    provider = await make_provider(session, slug="cachep")
    model = await make_base_model(session, name="Cached Model ü")
    await make_deployment(session, base_model=model, provider=provider, deployment_id="cached-1")
    await session.commit()


async def test_a_cached_list_is_the_same_answer_without_the_database(
    client: httpx.AsyncClient, session: AsyncSession, database: Database
) -> None:
    await _catalog(session)
    headers = await bearer_headers(session)
    for path in LISTS:
        for query in ("", "?page_size=5", "?page=1&page_size=50"):
            first = await client.get(path + query, headers=headers)
            assert first.status_code == 200, first.text
            with count_statements(database) as seen:
                again = await client.get(path + query, headers=headers)
            assert seen == [], (path, query, seen)
            assert again.status_code == 200
            assert again.content == first.content
            assert again.headers["content-type"] == first.headers["content-type"]
            assert again.headers["content-length"] == str(len(again.content))
            assert again.headers["x-request-id"] != first.headers["x-request-id"]
    names = [
        m["name"] for m in (await client.get("/api/v2/models", headers=headers)).json()["items"]
    ]
    assert "Cached Model ü" in names


async def test_a_cached_answer_needs_a_valid_token_of_an_active_user(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await _catalog(session)
    headers = await bearer_headers(session)
    assert (await client.get("/api/v2/models", headers=headers)).status_code == 200
    for refused in ({}, {"Authorization": "Bearer not-a-jwt"}, {"Authorization": "Basic eDp5"}):
        answer = await client.get("/api/v2/models", headers=refused)
        assert answer.status_code == 401, refused
        assert "detail" in answer.json() and "items" not in answer.text
    me = (await client.get("/api/auth/me", headers=headers)).json()
    await set_active(
        session=session, cache=app.state.myia.catalog_cache, email=me["email"], active=False
    )
    answer = await client.get("/api/v2/models", headers=headers)
    assert answer.status_code == 401 and "disabled" in answer.json()["detail"]


async def test_a_write_is_in_the_next_read(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await _catalog(session)
    admin = await bearer_headers(session, role=UserRole.ADMIN)
    before = (await client.get("/api/v2/models", headers=admin)).json()
    created = await client.post(
        "/api/v2/models",
        headers=admin,
        json={"name": "Written Model", "vendor": "acme", "family": "w"},
    )
    assert created.status_code == 201, created.text
    after = (await client.get("/api/v2/models", headers=admin)).json()
    assert after["total"] == before["total"] + 1
    assert "Written Model" in [m["name"] for m in after["items"]]


async def test_errors_are_answered_by_fastapi_and_never_kept(
    client: httpx.AsyncClient, session: AsyncSession, database: Database
) -> None:
    await _catalog(session)
    headers = await bearer_headers(session)
    for query in ("?page_size=0", "?page=abc", "?unknown=1"):
        for _ in range(2):
            answer = await client.get("/api/v2/deployments" + query, headers=headers)
            assert answer.status_code == 422, (query, answer.text)
            assert answer.json()["detail"]
    ok = await client.get("/api/v2/deployments?page_size=1", headers=headers)
    assert ok.status_code == 200 and len(ok.json()["items"]) == 1


async def test_a_burst_of_misses_renders_the_page_once(
    client: httpx.AsyncClient, session: AsyncSession, database: Database
) -> None:
    await _catalog(session)
    headers = await bearer_headers(session)
    await client.get("/api/auth/me", headers=headers)  # the user is cached now
    with count_statements(database) as once:
        single = await client.get("/api/v2/deployments?page_size=7", headers=headers)
    assert single.status_code == 200 and once
    with count_statements(database) as burst:
        answers = await asyncio.gather(
            *(client.get("/api/v2/deployments?page_size=8", headers=headers) for _ in range(20))
        )
    assert {a.status_code for a in answers} == {200}
    assert len({a.content for a in answers}) == 1
    assert len(burst) == len(once), (len(burst), len(once))


async def test_a_cached_read_is_counted_and_logs_no_info_line(
    client: httpx.AsyncClient, session: AsyncSession, caplog: pytest.LogCaptureFixture
) -> None:
    await _catalog(session)
    headers = await bearer_headers(session)
    counted = CACHED_READS.labels(path="/api/v2/providers")
    before = counted._value.get()

    def access_levels() -> list[int]:
        return [
            r.levelno
            for r in caplog.records
            if r.name == "myia.http" and isinstance(r.msg, dict) and r.msg.get("event") == "request"
        ]

    with caplog.at_level(logging.DEBUG, logger="myia.http"):
        assert (await client.get("/api/v2/providers", headers=headers)).status_code == 200
        assert access_levels() == [logging.INFO]  # rendered by FastAPI
        assert (await client.get("/api/v2/providers", headers=headers)).status_code == 200
        assert access_levels() == [logging.INFO]  # the cached answer: DEBUG, below LOG_LEVEL
        assert (await client.get("/api/v2/providers?page=x", headers=headers)).status_code == 422
        assert access_levels() == [logging.INFO, logging.INFO]
    assert counted._value.get() == before + 1
