"""Log events reach the `logs` table with the request id and user of their request."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI

from myia.api.app import create_app
from myia.db.engine import Database
from myia.db.enums import AuthType
from myia.observability.db_sink import DB_SINK
from myia.observability.logging import get_logger
from tests.conftest import make_settings
from tests.factories import make_provider, make_user
from tests.observability.conftest import log_rows


def _requests(rows: list[dict[str, object]]) -> dict[object, dict[str, object]]:
    return {row["request_id"]: row for row in rows if row["message"] == "request"}


async def test_each_request_is_logged_with_its_request_id(
    logged_client: httpx.AsyncClient, database: Database
) -> None:
    first = await logged_client.get("/api/health", headers={"X-Request-ID": "req-one"})
    second = await logged_client.get("/api/health", headers={"X-Request-ID": "req-two"})
    assert first.status_code == second.status_code == 200
    requests = _requests(await log_rows(database))
    assert {"req-one", "req-two"} <= set(requests)
    row = requests["req-one"]
    assert row["level"] == "info" and row["user_id"] is None
    metadata = row["metadata"]
    assert isinstance(metadata, dict)
    assert metadata["method"] == "GET" and metadata["path"] == "/api/health"
    assert metadata["status"] == 200 and metadata["duration_ms"] >= 0


async def test_an_authenticated_request_records_the_user(
    logged_client: httpx.AsyncClient, database: Database
) -> None:
    # A short write session: the log sink commits in the background (see test_no_secret_leaks).
    async with database.session() as writer:
        user = await make_user(writer)
        await make_provider(writer, slug="openai", auth_type=AuthType.API_KEY)
    token = (
        await logged_client.post(
            "/api/auth/login", json={"email": user.email, "password": "secret-pw"}
        )
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}", "X-Request-ID": "req-auth"}
    stored = await logged_client.put(
        "/api/credentials/openai", json={"api_key": "sk-test-0123456789"}, headers=headers
    )
    assert stored.status_code == 201

    rows = [row for row in await log_rows(database) if row["request_id"] == "req-auth"]
    assert {row["message"] for row in rows} == {"credential stored", "request"}
    assert all(row["user_id"] == user.id for row in rows)
    access = next(row for row in rows if row["message"] == "request")
    metadata = access["metadata"]
    assert isinstance(metadata, dict)
    # The route template, not the path the client typed.
    assert metadata["path"] == "/api/credentials/{provider_slug}"


async def test_unmatched_paths_are_logged_by_their_first_segment_only(
    logged_client: httpx.AsyncClient, database: Database
) -> None:
    await logged_client.get("/api/nothing/here/AKIAABCDEFGHIJKLMNOP", headers={"X-Request-ID": "a"})
    await logged_client.get("/SomeMixedCaseKeyValue0123", headers={"X-Request-ID": "b"})
    requests = _requests(await log_rows(database))
    paths = {rid: row["metadata"]["path"] for rid, row in requests.items()}  # type: ignore[index]
    assert paths["a"] == "/api/…" and paths["b"] == "/***"


async def test_lifespan_shutdown_writes_what_is_left(db_url: str, database: Database) -> None:
    application = create_app(make_settings(DATABASE_URL=db_url, LOG_TO_DB=True), database)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            await client.get("/api/health", headers={"X-Request-ID": "at-shutdown"})
    assert not DB_SINK.enabled
    assert "at-shutdown" in _requests(await log_rows(database))


async def test_nothing_is_buffered_when_log_to_db_is_off(
    client: httpx.AsyncClient, app: FastAPI, database: Database
) -> None:
    assert app.state.myia.settings.log_to_db is False
    await client.get("/api/health", headers={"X-Request-ID": "off"})
    assert await DB_SINK.flush(database) == 0
    assert await log_rows(database) == []


@pytest.mark.usefixtures("logged_app")
async def test_flush_returns_only_once_a_flush_in_progress_is_stored(database: Database) -> None:
    log = get_logger("tests.sink")
    for n in range(50):
        log.info("burst", n=n)
    in_progress = asyncio.create_task(DB_SINK.flush(database))
    await asyncio.sleep(0)  # it has taken the whole buffer and waits on the database
    await DB_SINK.flush(database)
    rows = await log_rows(database, flush=False)
    assert len([row for row in rows if row["message"] == "burst"]) == 50
    assert await in_progress == 50
