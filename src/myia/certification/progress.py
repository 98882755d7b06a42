"""A job's progress and ETA, and the 24-hour health figures seed 004 monitors (success rate
> 95 %, retry rate < 10 %, average time per item < 10 s), from the job and item rows.

Below the queue: certification's queries read these, and `myia.queue.stats` adds the live
queue counts on top.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.certification.jobs import ACTIVE_JOB
from myia.db.enums import JobItemStatus, JobStatus
from myia.db.models import CertificationJob, CertificationJobItem
from myia.db.types import utcnow

THRESHOLDS = {"success_rate_min": 0.95, "retry_rate_max": 0.10, "avg_item_seconds_max": 10.0}


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


async def running_certification(session: AsyncSession) -> dict[str, Any] | None:
    """The newest certification job still to finish (queued or running, not paused), for
    the pages that wait on it — the demo's first start above all: `processed` of `total`
    items checked, `success` of them certified. None when no job runs."""
    job = await session.scalar(
        select(CertificationJob)
        .where(CertificationJob.status.in_(ACTIVE_JOB))
        .order_by(CertificationJob.created_at.desc())
        .limit(1)
    )
    if job is None:
        return None
    return {
        "status": job.status.value,
        "total": job.total_models or 0,
        "processed": job.processed_models or 0,
        "success": job.success_count or 0,
    }
