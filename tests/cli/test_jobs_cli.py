"""`myia jobs list | show | pause | resume | cancel | clean | sync | stats`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from myia.certification import jobs
from myia.certification.selection import JobSelection
from myia.db.enums import JobItemStatus, JobStatus
from myia.db.models import CertificationJob, CertificationJobItem, WorkerHeartbeat
from myia.db.types import utcnow
from myia.sim import load_scenario
from tests.cli.conftest import Invoke, flat
from tests.factories import make_sim_catalog, run_on

SCENARIO = Path(__file__).parents[2] / "scenarios" / "test-basic.yaml"
NOVA = "amazon.nova-micro-v1:0"


@pytest.fixture
def cli_db(cli_db: str) -> str:
    """The shared `cli_db` (tests/cli/conftest.py), with this module's catalog."""
    db_url = cli_db

    async def build(session: AsyncSession) -> None:
        await make_sim_catalog(session, load_scenario(SCENARIO), "http://127.0.0.1:9")

    run_on(db_url, build)
    return db_url


def create_job(db_url: str, **selection: Any) -> str:
    async def build(session: AsyncSession) -> str:
        job, _ = await jobs.create_job(
            session=session,
            selection=JobSelection(**selection),
            default_regions=["us-east-1", "eu-west-1"],
        )
        return job.id

    result: str = run_on(db_url, build)
    return result


def job_status(db_url: str, job_id: str) -> JobStatus | None:
    async def build(session: AsyncSession) -> JobStatus | None:
        job = await session.get(CertificationJob, job_id)
        return job.status if job else None

    result: JobStatus | None = run_on(db_url, build)
    return result


def execute(db_url: str, *statements: Any) -> None:
    async def build(session: AsyncSession) -> None:
        for statement in statements:
            if isinstance(statement, WorkerHeartbeat):
                session.add(statement)
            else:
                await session.execute(statement)
        await session.commit()

    run_on(db_url, build)


def test_list_and_show(cli_db: str, invoke: Invoke) -> None:
    empty = invoke("jobs", "list")
    assert empty.exit_code == 0 and "No certification jobs yet" in empty.stdout
    first = create_job(cli_db, vendor="amazon")
    second = create_job(cli_db, models=["gpt-4o"])
    invoke("jobs", "pause", first)

    listed = invoke("jobs", "list")
    assert listed.exit_code == 0, listed.output
    assert first in listed.stdout and second in listed.stdout
    assert "Job history (2)" in listed.stdout and "MULTIPLE_MODELS" not in listed.stdout
    paused = invoke("jobs", "list", "--status", "PAUSED")
    assert first in paused.stdout and second not in paused.stdout
    assert "Job history (1)" in invoke("jobs", "list", "--limit", "1").stdout

    shown = invoke("jobs", "show", first)
    assert shown.exit_code == 0, shown.output
    out = flat(shown.stdout)
    assert f"Job {first}" in out and "Status: PAUSED" in out
    assert "Progress: 0/2 (0.0%)" in out and "Items: QUEUED 2" in out
    assert NOVA in out and "eu-west-1" in out and "us-east-1" in out

    missing = invoke("jobs", "show", "00000000-0000-0000-0000-000000000000")
    assert missing.exit_code == 1 and "not found" in missing.stderr


def test_pause_resume_cancel_and_refusals(cli_db: str, invoke: Invoke) -> None:
    job_id = create_job(cli_db, all=True)
    refused = invoke("jobs", "resume", job_id, "--no-wait")
    assert refused.exit_code == 1 and "cannot resume a job that is QUEUED" in refused.stderr

    paused = invoke("jobs", "pause", job_id)
    assert paused.exit_code == 0 and f"myia jobs resume {job_id}" in paused.stdout
    assert job_status(cli_db, job_id) is JobStatus.PAUSED
    again = invoke("jobs", "pause", job_id)
    assert again.exit_code == 1 and "cannot pause a job that is PAUSED" in again.stderr

    resumed = invoke("jobs", "resume", job_id, "--no-wait")
    assert resumed.exit_code == 0 and "resumed" in resumed.stdout
    assert job_status(cli_db, job_id) is JobStatus.QUEUED

    assert invoke("jobs", "cancel", job_id).exit_code == 1  # no terminal and no --yes
    assert job_status(cli_db, job_id) is JobStatus.QUEUED
    assert invoke("jobs", "cancel", job_id, "--dry-run").exit_code == 0
    assert job_status(cli_db, job_id) is JobStatus.QUEUED
    cancelled = invoke("jobs", "cancel", job_id, "--yes")
    assert cancelled.exit_code == 0, cancelled.output
    assert "is CANCELLED: 14 item(s) will not run" in flat(cancelled.stdout)
    assert job_status(cli_db, job_id) is JobStatus.CANCELLED
    assert invoke("jobs", "cancel", job_id, "--yes").exit_code == 1
    assert invoke("jobs", "pause", "nope").exit_code == 1


def test_clean_counts_asks_and_deletes(cli_db: str, invoke: Invoke) -> None:
    old_failed = create_job(cli_db, models=["gpt-4o"])
    recent_done = create_job(cli_db, vendor="amazon")
    running = create_job(cli_db, models=["gpt-3.5-turbo"])
    now = utcnow()
    execute(
        cli_db,
        update(CertificationJob)
        .where(CertificationJob.id == old_failed)
        .values(status=JobStatus.FAILED, updated_at=now - timedelta(hours=50)),
        update(CertificationJob)
        .where(CertificationJob.id == recent_done)
        .values(status=JobStatus.COMPLETED, updated_at=now - timedelta(hours=2)),
    )
    dry = invoke("jobs", "clean", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "1 finished job(s) to delete (completed > 24 h, failed or cancelled > 48 h ago)" in (
        flat(dry.stdout)
    )
    assert "Dry run" in dry.stdout and job_status(cli_db, old_failed) is JobStatus.FAILED

    refused = invoke("jobs", "clean")
    assert refused.exit_code == 1 and "without --yes" in refused.stderr
    assert job_status(cli_db, old_failed) is JobStatus.FAILED

    done = invoke("jobs", "clean", "--yes")
    assert done.exit_code == 0 and "1 job(s) deleted" in done.stdout
    assert job_status(cli_db, old_failed) is None
    sooner = invoke("jobs", "clean", "--yes", "--completed-after-h", "1")
    assert "1 job(s) deleted" in sooner.stdout
    assert job_status(cli_db, recent_done) is None
    assert job_status(cli_db, running) is JobStatus.QUEUED


def test_sync_recovers_items_of_dead_workers(cli_db: str, invoke: Invoke) -> None:
    job_id = create_job(cli_db, models=["gpt-4o"])
    execute(
        cli_db,
        update(CertificationJobItem)
        .where(CertificationJobItem.job_id == job_id)
        .values(
            status=JobItemStatus.PROCESSING,
            claimed_by="embedded-gone",
            claimed_at=utcnow() - timedelta(minutes=5),
        ),
    )
    result = invoke("jobs", "sync")
    assert result.exit_code == 0, result.output
    assert "0 re-enqueued, 0 dropped, 1 recovered from dead workers" in flat(result.stdout)

    async def statuses(session: AsyncSession) -> list[JobItemStatus]:
        query = select(CertificationJobItem.status).where(CertificationJobItem.job_id == job_id)
        return list((await session.execute(query)).scalars())

    assert run_on(cli_db, statuses) == [JobItemStatus.QUEUED]


def test_sync_recounts_a_job_left_processing_with_every_item_finished(
    cli_db: str, invoke: Invoke
) -> None:
    job_id = create_job(cli_db, models=["gpt-4o"])
    execute(
        cli_db,
        update(CertificationJobItem)
        .where(CertificationJobItem.job_id == job_id)
        .values(status=JobItemStatus.COMPLETED, finished_at=utcnow()),
        update(CertificationJob)
        .where(CertificationJob.id == job_id)
        .values(status=JobStatus.PROCESSING),
    )
    result = invoke("jobs", "sync")
    assert result.exit_code == 0, result.output
    assert "1 job(s) recounted" in flat(result.stdout)
    assert job_status(cli_db, job_id) is JobStatus.COMPLETED

    followed = invoke("jobs", "show", job_id, "--follow")
    assert followed.exit_code == 0, followed.output  # already over: returns at once


def test_stats_shows_counts_progress_health_and_alerts(cli_db: str, invoke: Invoke) -> None:
    quiet = invoke("jobs", "stats")
    assert quiet.exit_code == 0, quiet.output
    assert "No job in progress" in quiet.stdout and "ALERT" not in quiet.stdout

    job_id = create_job(cli_db, vendor="amazon")
    create_job(cli_db, models=["gpt-4o"])
    now = utcnow()

    async def finish_one(session: AsyncSession) -> None:
        items = await jobs.job_items(session=session, job_id=job_id)
        for item, status, attempts in zip(
            items, (JobItemStatus.COMPLETED, JobItemStatus.FAILED), (1, 3), strict=True
        ):
            item.status, item.attempts = status, attempts
            item.claimed_at, item.finished_at = now - timedelta(seconds=4), now
        session.add(
            WorkerHeartbeat(
                id="saq-host-1", hostname="host", pid=1, engine="saq",
                started_at=now, last_seen_at=now, active_items=1, processed_items=7,
            )
        )  # fmt: skip
        await jobs.refresh_counters(session, job_id)
        await session.commit()

    run_on(cli_db, finish_one)
    result = invoke("jobs", "stats")
    assert result.exit_code == 0, result.output
    out = flat(result.stdout)
    assert "Queue statistics — engine: embedded (up)" in out
    assert "waiting ┃ active ┃ delayed ┃ completed ┃ failed ┃ cancelled" in out
    assert "│ 1 │ 0 │ 0 │ 1 │ 1 │ 0 │" in out
    assert "Jobs in progress" in out and "2/2 (100.0%)" not in out
    assert "━" in result.stdout
    assert "success rate │ 50.0% │ > 95% │ ❌" in out
    assert "retry rate │ 50.0% │ < 10% │ ❌" in out
    assert "average time per item │ 4.0s │ < 10s │ ✅" in out
    assert "ALERT: success rate below 95 %" in out and "ALERT: retry rate above 10 %" in out
    assert "Workers alive: 1 of 1 known" in out and "saq-host-1 (saq) alive" in out
