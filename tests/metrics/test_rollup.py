"""`system_metrics` is written: the periodic rollup of provider calls and queue depth, its
reading on the admin health page and in the metrics report, and its pruning (issue 28)."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.api.app import create_app
from myia.db.engine import Database
from myia.db.enums import CertificationJobType, JobItemStatus, UserRole
from myia.db.models import (
    ApiCallLog,
    CertificationJob,
    CertificationJobItem,
    SystemMetric,
)
from myia.maintenance.prune import RetentionSettings, prune
from myia.metrics.rollup import latest_rollup, window_end, write_rollup
from myia.metrics.service import system_metrics
from tests.conftest import make_settings
from tests.factories import make_base_model, make_deployment, make_provider, make_user
from tests.web.conftest import sign_in

NOW = datetime(2026, 3, 1, 12, 0, 30, tzinfo=UTC)  # the window 11:59–12:00 is the last whole


def _call(
    deployment_id: str | None, at: datetime, status: str = "success", **extra: object
) -> ApiCallLog:
    values: dict[str, object] = {"provider": "p", "model": "m", "operation": "gateway",
                                 "latency_ms": 100, "tokens_in": 10, "tokens_out": 5}  # fmt: skip
    values.update(extra)
    return ApiCallLog(deployment_id=deployment_id, status=status, created_at=at, **values)


async def test_a_window_is_rolled_up_once(session: AsyncSession) -> None:
    provider = await make_provider(session)
    base = await make_base_model(session)
    busy = await make_deployment(session, base_model=base, provider=provider)
    quiet = await make_deployment(session, base_model=base, provider=provider)
    inside = datetime(2026, 3, 1, 11, 59, 10, tzinfo=UTC)
    session.add_all(
        [
            _call(busy.id, inside, latency_ms=100, cost=0.5),
            _call(busy.id, inside + timedelta(seconds=20), latency_ms=300, cost=0.25),
            _call(busy.id, inside + timedelta(seconds=30), status="error", latency_ms=200),
            _call(quiet.id, inside, latency_ms=50),
            # Outside the window: before it, and in the window still open.
            _call(quiet.id, inside - timedelta(minutes=1)),
            _call(busy.id, NOW - timedelta(seconds=5)),
        ]
    )
    job = CertificationJob(type=CertificationJobType.SINGLE_MODEL)
    session.add(job)
    await session.flush()
    session.add(CertificationJobItem(job_id=job.id, deployment_id=busy.id, region="global",
                                     status=JobItemStatus.QUEUED))  # fmt: skip
    await session.commit()

    result = await write_rollup(session=session, interval_s=60, now=NOW)
    assert result.end == datetime(2026, 3, 1, 12, 0, tzinfo=UTC) and not result.skipped
    rows = (await session.scalars(select(SystemMetric))).all()
    by = {(r.metric_type, r.deployment_id): r for r in rows}
    assert by[("requests", None)].value == 4
    assert by[("certification_queue", None)].value == 1
    assert by[("usage", busy.id)].value == 3
    assert by[("usage", busy.id)].metadata_ == {
        "window_s": 60, "errors": 1, "tokens_in": 30, "tokens_out": 15, "cost": 0.75
    }  # fmt: skip
    assert by[("error_rate", busy.id)].value == pytest.approx(1 / 3)
    assert by[("latency", busy.id)].value == pytest.approx(200)
    assert by[("usage", quiet.id)].value == 1 and by[("error_rate", quiet.id)].value == 0
    assert len(rows) == 8 and {r.timestamp for r in rows} == {result.end}

    # The same window again (another server process, a restart): nothing more.
    again = await write_rollup(session=session, interval_s=60, now=NOW + timedelta(seconds=10))
    assert again.skipped and again.rows == 0
    count = select(func.count()).select_from(SystemMetric)
    assert await session.scalar(count) == 8
    # An idle window is a 0, not a gap.
    idle = await write_rollup(session=session, interval_s=60, now=NOW + timedelta(minutes=5))
    assert idle.rows == 2

    # Read back: the admin health page's figures and the metrics report's `system` part.
    latest = await latest_rollup(session=session)
    assert latest is not None and latest["requests"] == 0 and latest["deployments"] == 0
    summaries = await system_metrics(
        session=session, since=NOW - timedelta(hours=1), until=NOW + timedelta(hours=1)
    )
    usage = next(s for s in summaries if s.metric_type == "usage" and s.deployment_id == busy.id)
    assert usage.last == 3

    # Kept per RETENTION_METRICS_DAYS, like the other operational tables.
    report = await prune(
        session=session,
        retention=RetentionSettings(RETENTION_METRICS_DAYS=1),
        now=NOW + timedelta(days=2),
    )
    assert report.tables["system_metrics"][1] == 10
    assert await session.scalar(count) == 0


def test_windows_are_aligned() -> None:
    assert window_end(NOW, 60) == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert window_end(NOW, 300) == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert window_end(NOW, 3600) == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert window_end(NOW + timedelta(minutes=4), 300) == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def test_the_server_writes_rollups_and_the_health_page_shows_them(
    db_url: str, database: Database, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = await make_user(session, role=UserRole.ADMIN)
    monkeypatch.setenv("METRICS_ROLLUP_INTERVAL_S", "1")
    app = create_app(make_settings(DATABASE_URL=db_url), database)
    async with app.router.lifespan_context(app):
        deadline = time.monotonic() + 30
        while True:
            async with database.read_session() as reader:
                found = await latest_rollup(session=reader)
            if found is not None:
                break
            assert time.monotonic() < deadline, "no rollup written"
            await asyncio.sleep(0.2)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            await sign_in(client, admin.email, "secret-pw")
            page = await client.get("/admin/health")
    assert page.status_code == 200
    assert "Last metrics rollup" in page.text and "No rollup yet" not in page.text


async def test_myia_health_shows_the_last_rollup(
    db_url: str, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from myia.cli.main import app as cli
    from myia.config import reset_settings_cache

    monkeypatch.setenv("DATABASE_URL", db_url)
    reset_settings_cache()
    runner = CliRunner()
    before = await asyncio.to_thread(runner.invoke, cli, ["health"])
    assert before.exit_code == 0, before.output
    assert "metrics rollup: none yet" in before.stdout

    await write_rollup(session=session, interval_s=60, now=NOW)
    shown = await asyncio.to_thread(runner.invoke, cli, ["health", "--json"])
    assert shown.exit_code == 0, shown.output
    rollup = json.loads(shown.stdout)["metrics_rollup"]
    assert rollup["requests"] == 0 and rollup["at"].startswith("2026-03-01 12:00:00")
    plain = await asyncio.to_thread(runner.invoke, cli, ["health"])
    assert "metrics rollup of 2026-03-01 12:00:00 UTC: 0 provider call(s)" in plain.stdout
    reset_settings_cache()
