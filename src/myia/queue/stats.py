"""Queue statistics from the database: counts by state, per-job progress and ETA, and the
24-hour health figures seed 004 monitors (success rate > 95 %, retry rate < 10 %, average
time per item < 10 s)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.certification.jobs import ACTIVE_JOB, list_jobs
from myia.certification.progress import job_progress, last_24h
from myia.certification.spend import job_spend
from myia.db.enums import JobItemStatus, JobStatus
from myia.db.models import CertificationJobItem
from myia.db.types import utcnow
from myia.queue.items import in_active_job, is_due

# last_24h and job_progress live below the queue (certification reads them too).
__all__ = ["item_counts", "job_progress", "last_24h", "queue_stats"]


async def item_counts(session: AsyncSession) -> dict[str, int]:
    item = CertificationJobItem
    active_job = in_active_job()
    queued = item.status == JobItemStatus.QUEUED
    due = is_due(utcnow())
    row = (
        await session.execute(
            select(
                func.sum(case((queued & due & active_job, 1), else_=0)),
                func.sum(case((queued & ~(due & active_job), 1), else_=0)),
                func.sum(case((item.status == JobItemStatus.PROCESSING, 1), else_=0)),
                func.sum(case((item.status == JobItemStatus.COMPLETED, 1), else_=0)),
                func.sum(case((item.status == JobItemStatus.FAILED, 1), else_=0)),
                func.sum(case((item.status == JobItemStatus.CANCELLED, 1), else_=0)),
            )
        )
    ).one()
    keys = ("waiting", "delayed", "active", "completed", "failed", "cancelled")
    return {k: int(v or 0) for k, v in zip(keys, row, strict=True)}


async def queue_stats(session: AsyncSession, *, concurrency: int) -> dict[str, Any]:
    counts = await item_counts(session)
    health = await last_24h(session)
    jobs = [
        j
        for j in await list_jobs(session=session, limit=100)
        if j.status in (*ACTIVE_JOB, JobStatus.PAUSED)
    ]
    avg = health["avg_item_seconds"]
    return {
        **counts,
        "jobs": [{**job_progress(j, avg, concurrency), **job_spend(j)} for j in jobs],
        "last_24h": health,
    }
