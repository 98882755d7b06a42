"""SAQ's dashboard at /admin/queues: admins only — by bearer header, or `?token=` once in a
browser (then a cookie scoped to the dashboard) — and only with the distributed queue."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from myia.api.app import create_app
from myia.api.routes.admin_queues import COOKIE
from myia.config import Settings
from myia.db.engine import Database
from myia.db.enums import UserRole
from myia.db.models import User
from tests.factories import bearer_headers
from tests.queue.saq_support import purge_queue, saq_settings, unique_queue_name


@pytest.fixture
async def saq_app(
    db_url: str, redis_url: str, database: Database
) -> AsyncIterator[tuple[FastAPI, Settings]]:
    name = unique_queue_name()
    settings = saq_settings(db_url, redis_url, name)
    app = create_app(settings, database)
    async with app.router.lifespan_context(app):
        yield app, settings
    await app.state.myia.queue.stop()
    purge_queue(redis_url, name)


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def test_only_admins_see_the_queue_dashboard(
    saq_app: tuple[FastAPI, Settings], database: Database
) -> None:
    app, settings = saq_app
    async with database.session() as session:
        user = await bearer_headers(session)
        admin = await bearer_headers(session, role=UserRole.ADMIN)
    async with _client(app) as client:
        anonymous = await client.get("/admin/queues/")
        forged = await client.get("/admin/queues/", headers={"Authorization": "Bearer x.y.z"})
        plain_user = await client.get("/admin/queues/api/queues", headers=user)
        page = await client.get("/admin/queues/", headers=admin)
        api = await client.get("/admin/queues/api/queues", headers=admin)
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
    assert forged.status_code == 401
    assert plain_user.status_code == 403
    assert page.status_code == 200 and "/admin/queues/static/app.js" in page.text
    assert api.status_code == 200
    assert [q["name"] for q in api.json()["queues"]] == [settings.queue_name]


async def test_a_token_in_the_url_becomes_a_cookie_for_the_dashboard(
    saq_app: tuple[FastAPI, Settings], database: Database
) -> None:
    app, _ = saq_app
    async with database.session() as session:
        admin = await bearer_headers(session, role=UserRole.ADMIN)
    token = admin["Authorization"].removeprefix("Bearer ")
    async with _client(app) as client:
        opened = await client.get(f"/admin/queues/?token={token}")
        assert opened.status_code == 303
        assert opened.headers["location"] == "/admin/queues/"  # the token leaves the URL
        cookie = opened.headers["set-cookie"]
        assert f"{COOKIE}=" in cookie and "HttpOnly" in cookie and "Path=/admin/queues" in cookie
        # The page's own scripts call the API with the cookie only.
        client.cookies.set(COOKIE, token)
        assert (await client.get("/admin/queues/api/queues")).status_code == 200
        # A disabled admin is locked out at once, token or not.
        async with database.session() as session:
            await session.execute(update(User).values(is_active=False))
            await session.commit()
        assert (await client.get("/admin/queues/api/queues")).status_code == 401


async def test_no_dashboard_with_the_embedded_engine(client: httpx.AsyncClient) -> None:
    assert (await client.get("/admin/queues/")).status_code == 404
