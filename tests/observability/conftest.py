"""An app that writes its logs to the `logs` table, and a way to read them back."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from myia.api.app import create_app
from myia.db.engine import Database
from myia.observability.db_sink import DB_SINK
from tests.conftest import make_settings


@pytest.fixture
async def logged_app(db_url: str, database: Database) -> AsyncIterator[FastAPI]:
    application = create_app(make_settings(DATABASE_URL=db_url, LOG_TO_DB=True), database)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def logged_client(logged_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=logged_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def log_rows(database: Database, *, flush: bool = True) -> list[dict[str, Any]]:
    """Every row of `logs` (after a flush, unless told not to), metadata decoded to a dict."""
    if flush:
        await DB_SINK.flush(database)
    async with database.engine.connect() as connection:
        result = await connection.execute(text("SELECT * FROM logs ORDER BY timestamp"))
        rows = [dict(row._mapping) for row in result]
    for row in rows:
        if isinstance(row.get("metadata"), str):
            row["metadata"] = json.loads(row["metadata"])
    return rows
