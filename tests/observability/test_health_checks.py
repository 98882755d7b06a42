"""The health report: database first, named checks (queue, workers) joining it later."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from myia.db.engine import Database
from myia.observability.health import health_report, register_check, unregister_check


async def _up() -> dict[str, Any]:
    return {"status": "up", "depth": 0}


async def _broken() -> dict[str, Any]:
    raise ConnectionError("redis://:hunter2@queue:6379 refused")


async def _hangs() -> dict[str, Any]:
    await asyncio.sleep(60)
    return {"status": "up"}


@pytest.fixture
def probe_check() -> Iterator[None]:
    register_check("probe", _up)
    yield
    unregister_check("probe")


@pytest.mark.usefixtures("probe_check")
async def test_registered_checks_join_the_report(
    client: httpx.AsyncClient, database: Database
) -> None:
    report = await health_report(database)
    assert report["status"] == "healthy"
    assert report["probe"] == {"status": "up", "depth": 0}
    assert report["database"]["status"] == "up"
    response = await client.get("/api/health")
    assert response.status_code == 200 and response.json()["probe"]["status"] == "up"


async def test_a_failing_check_reports_its_type_only(database: Database) -> None:
    report = await health_report(database, {"workers": _broken})
    assert report["status"] == "unhealthy"
    assert report["workers"] == {"status": "down", "error": "ConnectionError"}
    assert "hunter2" not in str(report)


async def test_a_hanging_check_times_out(database: Database) -> None:
    report = await health_report(database, {"workers": _hangs}, timeout_s=0.2)
    assert report["status"] == "unhealthy"
    assert report["workers"] == {"status": "down", "error": "no answer within 0.2s"}


async def test_a_down_check_makes_the_endpoint_503(client: httpx.AsyncClient) -> None:
    register_check("probe", _broken)
    try:
        response = await client.get("/api/health")
    finally:
        unregister_check("probe")
    assert response.status_code == 503
    assert response.json()["probe"]["status"] == "down"


async def test_an_unreachable_database_is_down() -> None:
    database = Database("postgresql://nobody@127.0.0.1:1/none", connect_args={"timeout": 1})
    try:
        report = await health_report(database)
    finally:
        await database.dispose()
    assert report["status"] == "unhealthy"
    assert report["database"]["status"] == "down"
    assert "nobody" not in str(report)


@pytest.mark.parametrize("name", ["status", "database"])
def test_reserved_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError):
        register_check(name, _up)


async def test_an_unmigrated_database_is_not_healthy(tmp_path: Any) -> None:
    """It answers `SELECT 1` but every request would fail: health names the fix."""
    empty = Database(f"sqlite+aiosqlite:///{tmp_path}/empty.db")
    try:
        report = await health_report(empty)
    finally:
        await empty.dispose()
    assert report["status"] == "unhealthy"
    assert report["database"]["status"] == "down"
    assert "myia db migrate" in report["database"]["error"]


async def test_a_migrated_database_is_healthy(database: Database) -> None:
    report = await health_report(database)
    assert report["database"]["status"] == "up", report
