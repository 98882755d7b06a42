"""Certification jobs: create, pause, resume, cancel, clean, and keep counters true.

A job is split into items, one per (deployment, region). Counters are never incremented
blindly: after every item transition they are recounted from the items in the same
transaction, so they add up whatever crashed, retried or ran twice.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from myia.certification.selection import JobSelection, resolve_selection
from myia.certification.spend import unpriced_pairs
from myia.db.enums import CertificationJobType, JobItemStatus, JobStatus
from myia.db.models import CertificationJob, CertificationJobItem, ModelDeployment
from myia.db.types import utcnow
from myia.errors import ConflictError, InvalidInputError, NotFoundError

ACTIVE_JOB = (JobStatus.PENDING, JobStatus.QUEUED, JobStatus.PROCESSING)
FINISHED_ITEM = (JobItemStatus.COMPLETED, JobItemStatus.FAILED, JobItemStatus.CANCELLED)
OPEN_ITEM = (JobItemStatus.QUEUED, JobItemStatus.PROCESSING)


async def create_job(
    *,
    session: AsyncSession,
    selection: JobSelection,
    default_regions: list[str],
    created_by: str | None = None,
    config: dict[str, Any] | None = None,
    job_type: CertificationJobType | None = None,
) -> tuple[CertificationJob, list[str]]:
    """Create a job and its items (QUEUED); returns the job and the item ids to enqueue.

    Raises InvalidInputError (naming the field) for an unknown model or region or an empty
    selection — before anything is written. `job_type` overrides the type the selection
    implies (`myia recertify` re-runs everything as a RECERTIFY job).
    """
    selected = await resolve_selection(
        session=session, selection=selection, default_regions=default_regions
    )
    deployments, pairs = selected.deployments, selected.pairs
    await _refuse_unpriced_under_cap(session, selection, pairs)
    # Pairs asked for but not offered: the job says which and why; they are not items.
    skipped = [
        {"deployment_id": s.deployment.deployment_id, "region": s.region, "reason": s.reason}
        for s in selected.skipped
    ]
    job = CertificationJob(
        type=job_type or selection.job_type(len(deployments)),
        regions=sorted({r for _, r in pairs}),
        deployment_ids=sorted({d.id for d, _ in pairs}),
        status=JobStatus.QUEUED,
        total_models=len(pairs),
        config={
            **(config or {}),
            "selection": selection.model_dump(exclude_defaults=True),
            **({"skipped": skipped} if skipped else {}),
        },
        created_by=created_by,
        max_cost_usd=selection.max_cost,
    )
    session.add(job)
    await session.flush()
    items = [CertificationJobItem(job_id=job.id, deployment_id=d.id, region=r) for d, r in pairs]
    session.add_all(items)
    await session.commit()
    return job, [item.id for item in items]


async def _refuse_unpriced_under_cap(
    session: AsyncSession, selection: JobSelection, pairs: list[tuple[ModelDeployment, str]]
) -> None:
    """A cap cannot bound what an unpriced deployment costs: refused by name, unless the
    caller accepts it (`allow_unpriced`); never counted as free."""
    if selection.max_cost is None or selection.allow_unpriced:
        return
    missing = await unpriced_pairs(session, pairs)
    if missing:
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        shown = ", ".join(missing[:10]) + more
        raise InvalidInputError(
            "max_cost",
            f"{len(missing)} item(s) have no known price, so the cap cannot bound them: "
            f"{shown}; set their price (myia prices) or allow them with allow_unpriced "
            "(--allow-unpriced)",
        )


async def get_job(*, session: AsyncSession, job_id: str) -> CertificationJob:
    job = await session.get(CertificationJob, job_id)
    if job is None:
        raise NotFoundError("job", job_id)
    return job


async def list_jobs(
    *, session: AsyncSession, status: JobStatus | None = None, limit: int = 50
) -> list[CertificationJob]:
    query = select(CertificationJob).order_by(CertificationJob.created_at.desc()).limit(limit)
    if status is not None:
        query = query.where(CertificationJob.status == status)
    return list((await session.execute(query)).scalars())


async def job_items(
    *, session: AsyncSession, job_id: str, status: JobItemStatus | None = None
) -> list[CertificationJobItem]:
    query = select(CertificationJobItem).where(CertificationJobItem.job_id == job_id)
    if status is not None:
        query = query.where(CertificationJobItem.status == status)
    return list((await session.execute(query.order_by(CertificationJobItem.created_at))).scalars())


async def lock_job(session: AsyncSession, job_id: str) -> CertificationJob:
    """The job row, fresh and locked until the caller's transaction ends (SELECT … FOR
    UPDATE on PostgreSQL; SQLite lets one writer at a time anyway).

    Every transaction that moves an item takes this lock first, so the lock order is always
    job then items, and a recount made under it sees every item transition committed before.
    """
    job = (
        await session.execute(
            select(CertificationJob)
            .where(CertificationJob.id == job_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    if job is None:
        raise NotFoundError("job", job_id)
    return job


def derive_status(current: JobStatus, *, open_: int, processing: int, finished: int) -> JobStatus:
    """A job's status from its items: an active job with nothing open is COMPLETED; paused,
    cancelled and finished jobs keep theirs."""
    if current not in ACTIVE_JOB:
        return current
    if open_ == 0:
        return JobStatus.COMPLETED
    if processing or finished:
        return JobStatus.PROCESSING
    return current


async def refresh_counters(session: AsyncSession, job_id: str) -> CertificationJob:
    """Recount a job's counters from its items and settle its status; the caller commits.

    The job row is locked before the items are counted: two items finishing a few
    milliseconds apart would otherwise each count the other as still open (PostgreSQL's READ
    COMMITTED), and neither would complete the job.
    """
    job = await lock_job(session, job_id)
    counts = (
        await session.execute(
            select(
                func.count(),
                func.sum(case((CertificationJobItem.status.in_(FINISHED_ITEM), 1), else_=0)),
                func.sum(
                    case((CertificationJobItem.status == JobItemStatus.COMPLETED, 1), else_=0)
                ),
                func.sum(case((CertificationJobItem.status == JobItemStatus.FAILED, 1), else_=0)),
                func.sum(case((CertificationJobItem.status.in_(OPEN_ITEM), 1), else_=0)),
                func.sum(
                    case((CertificationJobItem.status == JobItemStatus.PROCESSING, 1), else_=0)
                ),
            ).where(CertificationJobItem.job_id == job_id)
        )
    ).one()
    total, finished, completed, failed, open_, processing = (int(c or 0) for c in counts)
    job.total_models = total
    job.processed_models = finished
    job.success_count = completed
    job.failure_count = failed
    now = utcnow()
    if processing and job.started_at is None:
        job.started_at = now
    status = derive_status(job.status, open_=open_, processing=processing, finished=finished)
    if status is JobStatus.COMPLETED and job.status is not JobStatus.COMPLETED:
        job.completed_at = now
    job.status = status
    return job


async def refresh_open_jobs(session: AsyncSession) -> int:
    """Recount every active job (`myia jobs sync`): repairs counters or a status left behind
    by an older version or a crash between two writes. Commits; returns how many changed."""
    ids = list(
        (
            await session.execute(
                select(CertificationJob.id).where(CertificationJob.status.in_(ACTIVE_JOB))
            )
        ).scalars()
    )
    changed = 0
    for job_id in ids:
        job = await refresh_counters(session, job_id)
        changed += bool(session.is_modified(job))
        await session.commit()  # one job at a time: never hold many job locks
    return changed


async def _set_status(
    session: AsyncSession, job_id: str, allowed: tuple[JobStatus, ...], new: JobStatus, verb: str
) -> CertificationJob:
    job = await lock_job(session, job_id)
    if job.status not in allowed:
        raise ConflictError(f"cannot {verb} a job that is {job.status.value}", field="status")
    job.status = new
    return job


async def pause_job(*, session: AsyncSession, job_id: str) -> CertificationJob:
    """Workers stop claiming the job's items; running ones finish."""
    job = await _set_status(session, job_id, ACTIVE_JOB, JobStatus.PAUSED, "pause")
    await session.commit()
    return job


async def resume_job(*, session: AsyncSession, job_id: str) -> tuple[CertificationJob, list[str]]:
    """Back to work; returns the QUEUED item ids so the engine re-enqueues them."""
    job = await _set_status(session, job_id, (JobStatus.PAUSED,), JobStatus.QUEUED, "resume")
    await refresh_counters(session, job_id)
    await session.commit()
    items = await job_items(session=session, job_id=job_id, status=JobItemStatus.QUEUED)
    return job, [item.id for item in items]


async def cancel_job(*, session: AsyncSession, job_id: str) -> CertificationJob:
    """Cancel every open item at once: a worker finishing one later finds it cancelled and
    discards its result, so nothing of the job keeps running in the record."""
    job = await _set_status(
        session, job_id, (*ACTIVE_JOB, JobStatus.PAUSED), JobStatus.CANCELLED, "cancel"
    )
    now = utcnow()
    await session.execute(
        update(CertificationJobItem)
        .where(CertificationJobItem.job_id == job_id, CertificationJobItem.status.in_(OPEN_ITEM))
        .values(status=JobItemStatus.CANCELLED, finished_at=now, updated_at=now)
    )
    job.completed_at = now
    await refresh_counters(session, job_id)
    await session.commit()
    return job


async def clean_jobs(
    *, session: AsyncSession, completed_after_h: float, failed_after_h: float, dry_run: bool = False
) -> int:
    """Delete finished jobs (and their items): completed older than `completed_after_h`,
    failed or cancelled older than `failed_after_h`. Certifications stay."""
    now = utcnow()
    done = CertificationJob.status == JobStatus.COMPLETED
    condition = (
        done & (CertificationJob.updated_at < now - timedelta(hours=completed_after_h))
    ) | (
        CertificationJob.status.in_((JobStatus.FAILED, JobStatus.CANCELLED))
        & (CertificationJob.updated_at < now - timedelta(hours=failed_after_h))
    )
    ids = list((await session.execute(select(CertificationJob.id).where(condition))).scalars())
    if ids and not dry_run:
        await session.execute(delete(CertificationJob).where(CertificationJob.id.in_(ids)))
        await session.commit()
    return len(ids)
