"""Certification jobs and the queue (admin only): create, watch, pause/resume/cancel, clean,
sync, stats — and the certifications they produce."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status

from myia.api.deps import AdminUser, SessionDep, StateDep
from myia.catalog import openapi
from myia.certification import jobs, queries
from myia.certification.schemas import (
    CertificationDetail,
    CertificationFilters,
    CertificationsPublic,
    CleanRequest,
    CleanResult,
    JobDetail,
    JobPublic,
    JobsPublic,
    QueueStats,
    SyncResult,
)
from myia.certification.selection import JobSelection
from myia.db.enums import JobStatus
from myia.queue import service
from myia.queue.heartbeat import stale_after_s, workers
from myia.queue.stats import queue_stats

router = APIRouter(prefix="/api/certification-queue", tags=["certification queue"])

JobId = Annotated[str, Path(max_length=36, description="Certification job id")]
ADMIN_READ: dict[int | str, Any] = {**openapi.CREATE}
ADMIN_READ.pop(409)
TRANSITION: dict[int | str, Any] = {**openapi.DELETE, 422: openapi.CREATE[422]}


@router.post(
    "/jobs",
    status_code=status.HTTP_201_CREATED,
    summary="Create a certification job",
    responses=ADMIN_READ,
)
async def create_job(
    body: JobSelection, admin: AdminUser, session: SessionDep, state: StateDep
) -> JobPublic:
    """One item per (deployment, region); items go to the queue at once. Unknown models or
    regions, an empty selection, or `all` with `models` are a 422 naming the field, and then
    no job is created. The job runs with the creating admin's stored provider credentials
    (else the server's environment). `max_cost` (USD) stops the job before it spends more:
    an item whose estimated maximum no longer fits is cancelled with the outcome `budget`
    (listed in the job's `uncertified_for_budget`); a deployment with no known price under a
    cap is a 422 naming `max_cost` unless `allow_unpriced`."""
    job = await service.submit_job(
        session=session,
        engine=state.queue,
        settings=state.settings,
        selection=body,
        created_by=admin.id,
        config={"source": "api"},
    )
    return JobPublic.model_validate(job)


@router.get("/jobs", summary="Job history, newest first", responses=ADMIN_READ)
async def list_jobs(
    _admin: AdminUser,
    session: SessionDep,
    status_: Annotated[JobStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> JobsPublic:
    found = await jobs.list_jobs(session=session, status=status_, limit=limit)
    return JobsPublic(items=[JobPublic.model_validate(j) for j in found], count=len(found))


@router.get("/jobs/{job_id}", summary="A job with progress, ETA and items", responses=TRANSITION)
async def get_job(
    job_id: JobId, _admin: AdminUser, session: SessionDep, state: StateDep
) -> JobDetail:
    return await queries.job_detail(
        session=session, job_id=job_id, concurrency=state.settings.queue_concurrency
    )


@router.post("/jobs/{job_id}/pause", summary="Pause a job", responses=TRANSITION)
async def pause_job(job_id: JobId, _admin: AdminUser, session: SessionDep) -> JobPublic:
    """Workers stop taking its items; items already running finish. 422 unless the job is
    pending, queued or processing."""
    return JobPublic.model_validate(await jobs.pause_job(session=session, job_id=job_id))


@router.post("/jobs/{job_id}/resume", summary="Resume a paused job", responses=TRANSITION)
async def resume_job(
    job_id: JobId, _admin: AdminUser, session: SessionDep, state: StateDep
) -> JobPublic:
    """Its waiting items go back to the queue. 422 unless the job is paused."""
    job = await service.resume_job(session=session, engine=state.queue, job_id=job_id)
    return JobPublic.model_validate(job)


@router.post("/jobs/{job_id}/cancel", summary="Cancel a job", responses=TRANSITION)
async def cancel_job(job_id: JobId, _admin: AdminUser, session: SessionDep) -> JobPublic:
    """Every unfinished item is cancelled; a result arriving later is discarded. 422 when the
    job has already ended."""
    return JobPublic.model_validate(await jobs.cancel_job(session=session, job_id=job_id))


@router.post("/clean", summary="Delete old finished jobs", responses=ADMIN_READ)
async def clean_jobs(
    _admin: AdminUser, session: SessionDep, state: StateDep, body: CleanRequest | None = None
) -> CleanResult:
    """Completed jobs older than `completed_after_h` (default 24 h) and failed or cancelled
    ones older than `failed_after_h` (default 48 h). Certifications stay."""
    body = body or CleanRequest()
    completed_h = body.completed_after_h or state.settings.queue_clean_completed_after_h
    failed_h = body.failed_after_h or state.settings.queue_clean_failed_after_h
    deleted = await jobs.clean_jobs(
        session=session,
        completed_after_h=completed_h,
        failed_after_h=failed_h,
        dry_run=body.dry_run,
    )
    return CleanResult(
        deleted=deleted,
        dry_run=body.dry_run,
        completed_after_h=completed_h,
        failed_after_h=failed_h,
    )


@router.post("/sync", summary="Reconcile the database and the queue", responses=ADMIN_READ)
async def sync_queue(_admin: AdminUser, session: SessionDep, state: StateDep) -> SyncResult:
    """Re-enqueue what the queue lost, drop what the database finished, and give items held
    by dead workers back to the queue."""
    return SyncResult(**await service.sync_queue(session=session, engine=state.queue))


@router.get("/stats", summary="Queue statistics", responses=ADMIN_READ)
async def stats(_admin: AdminUser, session: SessionDep, state: StateDep) -> QueueStats:
    """Items waiting / active / completed / failed / delayed, progress and ETA of every
    unfinished job, the last 24 hours against seed 004's thresholds (success > 95 %, retries
    < 10 %, < 10 s per item), the engine's view and the workers' heartbeats."""
    settings = state.settings
    figures = await queue_stats(session, concurrency=settings.queue_concurrency)
    found = await workers(session, stale_after_s=stale_after_s(settings))
    return QueueStats(**figures, engine=await state.queue.health(), workers=found)


@router.get("/certifications", summary="Certifications, filtered", responses=ADMIN_READ)
async def list_certifications(
    _admin: AdminUser,
    session: SessionDep,
    filters: Annotated[CertificationFilters, Query()],
) -> CertificationsPublic:
    """One row per (deployment, region), ordered by vendor, model, provider model id and
    region. `deployment` takes a row id or the provider's model id; `model` a base model
    id or name."""
    return await queries.list_certifications(session=session, filters=filters)


@router.get(
    "/certifications/{certification_id}",
    summary="One certification with its tests and figures",
    responses=TRANSITION,
)
async def get_certification(
    certification_id: Annotated[str, Path(max_length=36, description="Certification id")],
    _admin: AdminUser,
    session: SessionDep,
) -> CertificationDetail:
    """Every test with its samples (a failed check is asked again; the majority decides),
    the capabilities observed in this region, latency p50/p95 per provider call, the
    transient errors and throttles absorbed, and the tool battery's schema accuracy and
    trigger F1."""
    return await queries.certification_detail(session=session, certification_id=certification_id)
