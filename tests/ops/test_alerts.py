"""Seed 004's alerts: each threshold fires on its own, as `myia health --alerts` (exit 1),
as Prometheus gauges and as WARNING log records."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncSession

from myia.db.engine import Database
from myia.db.enums import CertificationJobType, JobItemStatus, JobStatus
from myia.db.models import CertificationJob, CertificationJobItem, WorkerHeartbeat
from myia.db.types import utcnow
from myia.observability.alerts import Alert, evaluate_alerts, publish
from tests.conftest import make_settings
from tests.factories import make_base_model, make_deployment, make_provider, run_on
from tests.ops.conftest import Invoke, flat, free_port


async def add_items(session: AsyncSession, statuses: list[JobItemStatus]) -> None:
    """One job of an active status with one item per status (distinct regions)."""
    provider = await make_provider(session)
    model = await make_base_model(session)
    deployment = await make_deployment(session, base_model=model, provider=provider)
    job = CertificationJob(type=CertificationJobType.ALL_MODELS, status=JobStatus.PROCESSING,
                           total_models=len(statuses))  # fmt: skip
    session.add(job)
    await session.flush()
    now = utcnow()
    for n, status in enumerate(statuses):
        finished = status in (JobItemStatus.COMPLETED, JobItemStatus.FAILED)
        session.add(CertificationJobItem(
            job_id=job.id, deployment_id=deployment.id, region=f"r-{n}", status=status,
            attempts=1, claimed_at=now - timedelta(seconds=2) if finished else None,
            finished_at=now if finished else None,
        ))  # fmt: skip
    await session.commit()


async def add_worker(session: AsyncSession, *, silent_for: timedelta) -> None:
    seen = utcnow() - silent_for
    session.add(WorkerHeartbeat(id=f"w-{silent_for.seconds}", hostname="h", pid=1,
                                engine="embedded", started_at=seen, last_seen_at=seen))  # fmt: skip
    await session.commit()


async def firing(database: Database, **settings: str) -> dict[str, Alert]:
    alerts = await evaluate_alerts(database=database, settings=make_settings(**settings))
    assert [a.name for a in alerts] == ["worker_offline", "failure_rate", "queue_backlog",
                                        "redis_down"]  # fmt: skip
    return {a.name: a for a in alerts if a.firing}


async def test_a_quiet_system_fires_nothing(database: Database) -> None:
    assert await firing(database) == {}


async def test_worker_offline_after_five_minutes_of_silence(database: Database) -> None:
    async with database.session() as session:
        await add_worker(session, silent_for=timedelta(seconds=30))
    assert await firing(database) == {}
    async with database.session() as session:
        await add_worker(session, silent_for=timedelta(minutes=6))
    fired = await firing(database)
    assert list(fired) == ["worker_offline"] and fired["worker_offline"].value == 1


async def test_worker_offline_when_items_wait_and_no_worker_lives(database: Database) -> None:
    async with database.session() as session:
        await add_items(session, [JobItemStatus.QUEUED])
    fired = await firing(database)
    assert list(fired) == ["worker_offline"]
    assert "1 item(s) wait and no worker is alive" in fired["worker_offline"].message


async def test_failure_rate_above_ten_percent(database: Database) -> None:
    async with database.session() as session:  # 1 failure in 10: exactly 10 %, no alert
        await add_items(session, [JobItemStatus.COMPLETED] * 9 + [JobItemStatus.FAILED])
    assert await firing(database) == {}
    async with database.session() as session:  # 2 in 11: 18 %
        await add_items(session, [JobItemStatus.FAILED])
    fired = await firing(database)
    assert list(fired) == ["failure_rate"]
    assert fired["failure_rate"].value == pytest.approx(2 / 11, abs=1e-3)


async def test_more_than_a_hundred_items_waiting(database: Database) -> None:
    async with database.session() as session:
        await add_worker(session, silent_for=timedelta(seconds=1))
        await add_items(session, [JobItemStatus.QUEUED] * 100)
    assert await firing(database) == {}
    async with database.session() as session:
        await add_items(session, [JobItemStatus.QUEUED])
    fired = await firing(database)
    assert list(fired) == ["queue_backlog"] and fired["queue_backlog"].value == 101


async def test_redis_down(database: Database, redis_url: str) -> None:
    assert await firing(database, REDIS_URL=redis_url) == {}
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    fired = await firing(database, REDIS_URL=dead)
    assert list(fired) == ["redis_down"]
    assert dead not in fired["redis_down"].message  # a URL may carry a password


async def test_gauges_and_warning_records(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    async with database.session() as session:
        await add_items(session, [JobItemStatus.QUEUED] * 101)
    alerts = await evaluate_alerts(database=database, settings=make_settings())
    with caplog.at_level(logging.WARNING, logger="myia.alerts"):
        publish(alerts)
    gauge = REGISTRY.get_sample_value
    assert gauge("myia_alert_firing", {"alert": "queue_backlog"}) == 1
    assert gauge("myia_alert_firing", {"alert": "redis_down"}) == 0
    assert gauge("myia_alert_value", {"alert": "queue_backlog"}) == 101
    warned = {r.getMessage() for r in caplog.records if r.levelno == logging.WARNING}
    assert any(m.startswith("alert queue_backlog: 101 item(s) waiting") for m in warned)
    assert any(m.startswith("alert worker_offline:") for m in warned)


def test_health_alerts_exits_non_zero_when_one_fires(ops_db: str, invoke: Invoke) -> None:
    calm = invoke("health", "--alerts")
    assert calm.exit_code == 0, calm.output
    assert "ok queue_backlog: 0 item(s) waiting" in flat(calm.stdout)

    run_on(ops_db, lambda s: add_items(s, [JobItemStatus.QUEUED] * 101))
    loud = invoke("health", "--alerts", "--json")
    assert loud.exit_code == 1
    report = json.loads(loud.stdout)
    assert report["status"] == "healthy"
    assert {a["name"] for a in report["alerts"] if a["firing"]} == {
        "queue_backlog", "worker_offline",
    }  # fmt: skip
    assert invoke("health").exit_code == 0  # without --alerts: only the health checks
