"""Retention: `myia db prune` deletes what is older than its limit, nothing else; --dry-run
changes nothing; the daily run of `myia serve` prunes on its own."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.db.enums import CertificationJobType, JobStatus
from myia.db.models import ApiCallLog, CertificationJob, LogRecord, SystemMetric
from myia.db.types import utcnow
from myia.maintenance.prune import PruneSchedule, RetentionSettings
from tests.factories import run_on
from tests.ops.conftest import Invoke, flat, wait_for

TABLES: dict[str, Any] = {
    "logs": LogRecord,
    "api_call_logs": ApiCallLog,
    "system_metrics": SystemMetric,
    "certification_jobs": CertificationJob,
}


async def add_rows(session: AsyncSession) -> None:
    """Per table: one row past the default retention, one recent. Jobs: an old finished
    one, an old one still running (never pruned) and a recent finished one."""
    now = utcnow()
    for age in (timedelta(days=400), timedelta(hours=1)):
        at = now - age
        session.add(LogRecord(timestamp=at, level="INFO", message="hello"))
        session.add(ApiCallLog(created_at=at, provider="sim", model="m", status="success"))
        session.add(SystemMetric(timestamp=at, metric_type="latency", value=1.0))
        done = JobStatus.COMPLETED
        kind = CertificationJobType.SINGLE_MODEL
        session.add(CertificationJob(type=kind, status=done, created_at=at, updated_at=at))
    old = now - timedelta(days=400)
    running, kind = JobStatus.PROCESSING, CertificationJobType.ALL_MODELS
    session.add(CertificationJob(type=kind, status=running, created_at=old, updated_at=old))
    await session.commit()


async def counts(session: AsyncSession) -> dict[str, int]:
    return {
        name: int(await session.scalar(select(func.count()).select_from(model)) or 0)
        for name, model in TABLES.items()
    }


def test_dry_run_changes_nothing_then_prune_deletes_only_old_rows(
    ops_db: str, invoke: Invoke
) -> None:
    run_on(ops_db, add_rows)
    before = run_on(ops_db, counts)
    assert before == {"logs": 2, "api_call_logs": 2, "system_metrics": 2, "certification_jobs": 3}

    dry = invoke("db", "prune", "--dry-run")
    assert dry.exit_code == 0, dry.output
    out = flat(dry.stdout)
    assert "logs: 1 row(s) to delete (older than 30 days)" in out
    assert "api_call_logs: 1 row(s) to delete (older than 90 days)" in out
    assert "certification_jobs: 1 row(s) to delete" in out
    assert "Dry run: nothing was changed." in out
    assert run_on(ops_db, counts) == before

    refused = invoke("db", "prune")  # no terminal, no --yes
    assert refused.exit_code == 1 and "without --yes" in flat(refused.stderr)
    assert run_on(ops_db, counts) == before

    done = invoke("db", "prune", "--yes")
    assert done.exit_code == 0, done.output
    assert "Prune finished" in done.stdout
    # The old running job stays: only finished jobs are pruned.
    assert run_on(ops_db, counts) == {
        "logs": 1, "api_call_logs": 1, "system_metrics": 1, "certification_jobs": 2,
    }  # fmt: skip
    again = invoke("db", "prune", "--dry-run")
    assert "Nothing to prune." in again.stdout


def test_retention_comes_from_the_settings(ops_db: str, invoke: Invoke, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    run_on(ops_db, add_rows)
    monkeypatch.setenv("RETENTION_LOGS_DAYS", "0")  # 0 keeps forever
    monkeypatch.setenv("RETENTION_API_CALL_LOGS_DAYS", "1000")
    assert invoke("db", "prune", "--yes").exit_code == 0
    after = run_on(ops_db, counts)
    assert after["logs"] == 2 and after["api_call_logs"] == 2 and after["system_metrics"] == 1


def test_the_daily_schedule_prunes_by_itself(ops_db: str) -> None:
    run_on(ops_db, add_rows)
    schedule = PruneSchedule(ops_db, RetentionSettings(RETENTION_INTERVAL_S=0.2)).start()
    try:
        wait_for(lambda: run_on(ops_db, counts)["logs"] == 1, what="the scheduled prune")
    finally:
        schedule.stop()
    assert schedule.runs >= 1
    assert run_on(ops_db, counts)["system_metrics"] == 1
