"""Queue statistics from the database: counts by state, per-job progress and ETA, and the
24-hour health figures seed 004 monitors (success rate > 95 %, retry rate < 10 %, average
time per item < 10 s)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.certification.jobs import ACTIVE_JOB, list_jobs
from myia.db.enums import JobItemStatus, JobStatus
from myia.db.models import CertificationJob, CertificationJobItem
from myia.db.types import utcnow
from myia.queue.items import in_active_job, is_due

THRESHOLDS = {"success_rate_min": 0.95, "retry_rate_max": 0.10, "avg_item_seconds_max": 10.0}


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


async def last_24h(session: AsyncSession) -> dict[str, Any]:
    since = utcnow() - timedelta(hours=24)
    item = CertificationJobItem
    finished = item.status.in_((JobItemStatus.COMPLETED, JobItemStatus.FAILED))
    rows = (
        await session.execute(
            select(item.status, item.attempts, item.claimed_at, item.finished_at).where(
                finished, item.finished_at >= since
            )
        )
    ).all()
    total = len(rows)
    succeeded = sum(1 for r in rows if r.status == JobItemStatus.COMPLETED)
    retried = sum(1 for r in rows if r.attempts > 1)
    durations = [
        (r.finished_at - r.claimed_at).total_seconds()
        for r in rows
        if r.claimed_at and r.finished_at
    ]
    avg_s = round(sum(durations) / len(durations), 3) if durations else None
    figures = {
        "items": total,
        "success_rate": round(succeeded / total, 4) if total else None,
        "retry_rate": round(retried / total, 4) if total else None,
        "avg_item_seconds": avg_s,
    }
    alerts = []
    if total:
        if succeeded / total < THRESHOLDS["success_rate_min"]:
            alerts.append("success rate below 95 %")
        if retried / total > THRESHOLDS["retry_rate_max"]:
            alerts.append("retry rate above 10 %")
        if (avg_s or 0) > THRESHOLDS["avg_item_seconds_max"]:
            alerts.append("average time per item above 10 s")
    return {**figures, "thresholds": THRESHOLDS, "alerts": alerts}


def job_progress(
    job: CertificationJob, avg_item_s: float | None, concurrency: int
) -> dict[str, Any]:
    total = job.total_models or 0
    done = job.processed_models or 0
    remaining = max(total - done, 0)
    eta = None
    if avg_item_s and remaining and job.status not in (JobStatus.PAUSED, JobStatus.CANCELLED):
        eta = round(remaining * avg_item_s / max(concurrency, 1), 1)
    return {
        "job_id": job.id,
        "type": job.type.value,
        "status": job.status.value,
        "total": total,
        "processed": done,
        "success": job.success_count,
        "failure": job.failure_count,
        "percent": round(100 * done / total, 1) if total else 100.0,
        "eta_seconds": eta,
    }


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
        "jobs": [job_progress(j, avg, concurrency) for j in jobs],
        "last_24h": health,
    }
