"""Read and clear certification data for the API, the CLI and the operator menu.

Routers and commands hold no SQL: certification listing with filters, a job's items with
the certification each produced, deployments × regions still without a certification, and
the deletions `myia certifications clear` and `myia recertify` perform.
"""

from __future__ import annotations

from collections import Counter
from typing import TypeVarTuple

from sqlalchemy import ColumnElement, Select, delete, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from myia.certification.jobs import FINISHED_ITEM, get_job, job_items
from myia.certification.progress import job_progress, last_24h
from myia.certification.regions import unknown_regions
from myia.certification.schemas import (
    CertificationDetail,
    CertificationFilters,
    CertificationPublic,
    CertificationQuery,
    CertificationsPublic,
    JobDetail,
    JobItemPublic,
    JobProgress,
    JobPublic,
    UncertifiedPublic,
)
from myia.certification.selection import JobSelection, resolve_items
from myia.certification.spend import BUDGET, UNPRICED, job_spend
from myia.db.enums import JobItemStatus, JobStatus, UserRole
from myia.db.models import (
    BaseModel,
    CertificationJobItem,
    ModelCertification,
    ModelDeployment,
    Provider,
    User,
)
from myia.db.types import utcnow
from myia.errors import InvalidInputError, NotFoundError

Ts = TypeVarTuple("Ts")


# --- certifications ---------------------------------------------------------------------------
def _conditions(query: CertificationQuery) -> list[ColumnElement[bool]]:
    if query.region is not None and unknown_regions([query.region]):
        raise InvalidInputError("region", f"unknown region: {query.region}")
    conditions: list[ColumnElement[bool]] = []
    if query.deployment is not None:
        conditions.append(
            or_(
                ModelDeployment.id == query.deployment,
                ModelDeployment.deployment_id == query.deployment,
            )
        )
    if query.model is not None:
        conditions.append(or_(BaseModel.id == query.model, BaseModel.name == query.model))
    if query.vendor is not None:
        conditions.append(func.lower(BaseModel.vendor) == query.vendor.lower())
    if query.provider is not None:
        conditions.append(Provider.slug == query.provider)
    if query.region is not None:
        conditions.append(ModelCertification.region == query.region)
    if query.status is not None:
        conditions.append(ModelCertification.status == query.status)
    if query.badge is not None:
        conditions.append(ModelCertification.badge == query.badge.value)
    return conditions


def _joined(stmt: Select[*Ts]) -> Select[*Ts]:
    return (
        stmt.join(ModelDeployment, ModelDeployment.id == ModelCertification.deployment_id)
        .join(BaseModel, BaseModel.id == ModelDeployment.base_model_id)
        .join(Provider, Provider.id == ModelDeployment.provider_id)
    )


def _certification_public(
    cert: ModelCertification, deployment: ModelDeployment, model: BaseModel, slug: str
) -> CertificationPublic:
    now = utcnow()
    return CertificationPublic(
        id=cert.id,
        deployment_row_id=deployment.id,
        deployment_id=deployment.deployment_id,
        base_model_id=model.id,
        base_model_name=model.name,
        vendor=model.vendor,
        provider_slug=slug,
        region=cert.region,
        status=cert.status,
        rating=cert.rating,
        badge=cert.badge,
        success_rate=cert.success_rate,
        avg_latency_ms=cert.avg_latency_ms,
        tests_passed=cert.tests_passed,
        tests_failed=cert.tests_failed,
        error_category=cert.error_category,
        last_error=cert.last_error,
        certified_at=cert.certified_at,
        expires_at=cert.expires_at,
        last_tested_at=cert.last_tested_at,
        job_id=cert.job_id,
        expired=cert.expires_at is not None and cert.expires_at < now,
        partial_rating=cert.partial_rating,
        latency_p50_ms=cert.latency_p50_ms,
        latency_p95_ms=cert.latency_p95_ms,
        ttft_p50_ms=cert.ttft_p50_ms,
        transient_errors=cert.transient_errors or 0,
        throttled_calls=cert.throttled_calls or 0,
        inconclusive_tests=cert.inconclusive_tests or 0,
        tool_schema_accuracy=cert.tool_schema_accuracy,
        tool_trigger_f1=cert.tool_trigger_f1,
        observed_capabilities=cert.observed_capabilities,
    )


async def certification_detail(
    *, session: AsyncSession, certification_id: str
) -> CertificationDetail:
    """One certification with its tests, their samples and the measured figures."""
    row = (
        await session.execute(
            _joined(select(ModelCertification, ModelDeployment, BaseModel, Provider.slug)).where(
                ModelCertification.id == certification_id
            )
        )
    ).first()
    if row is None:
        raise NotFoundError("certification", certification_id)
    cert, deployment, model, slug = row
    return CertificationDetail(
        **_certification_public(cert, deployment, model, slug).model_dump(),
        test_results=cert.test_results or [],
        failure_reasons=cert.failure_reasons or [],
        metrics=cert.metrics or {},
        scores=cert.scores or {},
    )


async def list_certifications(
    *, session: AsyncSession, filters: CertificationFilters
) -> CertificationsPublic:
    """Ordered by vendor, model name, provider model id and region."""
    conditions = _conditions(filters)
    total = (
        await session.execute(
            _joined(select(func.count()).select_from(ModelCertification)).where(*conditions)
        )
    ).scalar_one()
    rows = (
        await session.execute(
            _joined(select(ModelCertification, ModelDeployment, BaseModel, Provider.slug))
            .where(*conditions)
            .order_by(
                BaseModel.vendor,
                BaseModel.name,
                ModelDeployment.deployment_id,
                ModelCertification.region,
            )
            .offset(filters.offset)
            .limit(filters.page_size)
        )
    ).all()
    return CertificationsPublic(
        items=[_certification_public(c, d, m, slug) for c, d, m, slug in rows],
        total=total,
        page=filters.page,
        page_size=filters.page_size,
    )


async def clear_certifications(
    *, session: AsyncSession, query: CertificationQuery, dry_run: bool = False
) -> int:
    """Delete the certifications matching `query` (all of them without filters)."""
    ids_query = _joined(select(ModelCertification.id)).where(*_conditions(query))
    ids = list((await session.execute(ids_query)).scalars())
    if ids and not dry_run:
        await session.execute(delete(ModelCertification).where(ModelCertification.id.in_(ids)))
        await session.commit()
    return len(ids)


async def certifications_of(
    *, session: AsyncSession, deployment_ids: list[str]
) -> dict[tuple[str, str], ModelCertification]:
    """Current certifications of these deployments, by (deployment row id, region)."""
    query = select(ModelCertification).where(
        ModelCertification.deployment_id.in_(sorted(set(deployment_ids)))
    )
    return {(c.deployment_id, c.region): c for c in (await session.execute(query)).scalars()}


async def delete_certifications_of_job(*, session: AsyncSession, job_id: str) -> int:
    """Delete the current certifications of every (deployment, region) a job will re-run
    — the cleanup step of `myia recertify`."""
    pairs = [(i.deployment_id, i.region) for i in await job_items(session=session, job_id=job_id)]
    if not pairs:
        return 0
    where = tuple_(ModelCertification.deployment_id, ModelCertification.region).in_(pairs)
    count = (
        await session.execute(select(func.count()).select_from(ModelCertification).where(where))
    ).scalar_one()
    await session.execute(delete(ModelCertification).where(where))
    await session.commit()
    return int(count)


async def uncertified(
    *,
    session: AsyncSession,
    default_regions: list[str],
    regions: list[str] | None = None,
    vendor: str | None = None,
    provider: str | None = None,
) -> list[UncertifiedPublic]:
    """Active deployments × regions with no certification row at all (any status): what a
    `recertify=uncertified` job would certify."""
    selection = JobSelection(
        all=vendor is None,
        vendor=vendor,
        provider=provider,
        regions=regions or [],
        recertify="uncertified",
    )
    try:
        _, pairs = await resolve_items(
            session=session, selection=selection, default_regions=default_regions
        )
    except InvalidInputError as exc:
        if exc.field == "selection":  # nothing left to certify: an answer, not an error
            return []
        raise
    return [
        UncertifiedPublic(
            deployment_row_id=d.id,
            deployment_id=d.deployment_id,
            base_model_name=d.base_model.name,
            vendor=d.base_model.vendor,
            provider_slug=d.provider.slug,
            region=region,
        )
        for d, region in pairs
    ]


# --- jobs --------------------------------------------------------------------------------------
async def job_item_rows(*, session: AsyncSession, job_id: str) -> list[JobItemPublic]:
    """A job's items with their deployment and the certification each produced, in order
    of creation (unfinished items last among equals)."""
    item = CertificationJobItem
    rows = (
        await session.execute(
            select(item, ModelDeployment, BaseModel, Provider.slug, ModelCertification)
            .join(ModelDeployment, ModelDeployment.id == item.deployment_id)
            .join(BaseModel, BaseModel.id == ModelDeployment.base_model_id)
            .join(Provider, Provider.id == ModelDeployment.provider_id)
            .outerjoin(ModelCertification, ModelCertification.id == item.certification_id)
            .where(item.job_id == job_id)
            .order_by(item.created_at, item.id)
        )
    ).all()
    return [_item_public(i, d, m, slug, c) for i, d, m, slug, c in rows]


def _item_public(
    item: CertificationJobItem,
    deployment: ModelDeployment,
    model: BaseModel,
    slug: str,
    cert: ModelCertification | None,
) -> JobItemPublic:
    duration = None
    if item.claimed_at is not None and item.finished_at is not None:
        duration = round((item.finished_at - item.claimed_at).total_seconds(), 3)
    return JobItemPublic(
        id=item.id,
        deployment_row_id=deployment.id,
        deployment_id=deployment.deployment_id,
        base_model_name=model.name,
        vendor=model.vendor,
        provider_slug=slug,
        region=item.region,
        status=item.status,
        outcome=item.outcome,
        attempts=item.attempts,
        throttled=item.throttled,
        error=item.error,
        duration_s=duration,
        claimed_at=item.claimed_at,
        finished_at=item.finished_at,
        certification_id=item.certification_id,
        rating=cert.rating if cert else None,
        badge=cert.badge if cert else None,
        success_rate=cert.success_rate if cert else None,
        avg_latency_ms=cert.avg_latency_ms if cert else None,
        last_error=cert.last_error if cert else None,
        partial_rating=cert.partial_rating if cert else None,
        latency_p50_ms=cert.latency_p50_ms if cert else None,
        latency_p95_ms=cert.latency_p95_ms if cert else None,
        transient_errors=cert.transient_errors if cert else None,
        tool_schema_accuracy=cert.tool_schema_accuracy if cert else None,
        tool_trigger_f1=cert.tool_trigger_f1 if cert else None,
        cost_usd=item.cost_usd,
        cost_reason=item.cost_reason,
        tokens_in=item.tokens_in or 0,
        tokens_out=item.tokens_out or 0,
    )


def average_item_seconds(items: list[JobItemPublic]) -> float | None:
    durations = [i.duration_s for i in items if i.duration_s is not None]
    return sum(durations) / len(durations) if durations else None


async def job_detail(*, session: AsyncSession, job_id: str, concurrency: int) -> JobDetail:
    """A job with progress and ETA, its items per status, and every item with its outcome.

    The ETA uses this job's own average item time, or the last 24 hours' when none of its
    items has finished yet.
    """
    job = await get_job(session=session, job_id=job_id)
    items = await job_item_rows(session=session, job_id=job_id)
    average = average_item_seconds(items)
    if average is None:
        average = (await last_24h(session))["avg_item_seconds"]
    summary = Counter(i.status.value for i in items)
    return JobDetail(
        **JobPublic.model_validate(job).model_dump(),
        progress=JobProgress(**job_progress(job, average, concurrency), **job_spend(job)),
        items_summary={status.value: summary.get(status.value, 0) for status in JobItemStatus},
        items=items,
        uncertified_for_budget=[
            f"{i.deployment_id}@{i.region}" for i in items if i.outcome == BUDGET
        ],
        unpriced_items=[
            f"{i.deployment_id}@{i.region}" for i in items if i.cost_reason == UNPRICED
        ],
    )


async def finished_items_since(
    *, session: AsyncSession, job_id: str, seen: set[str]
) -> list[JobItemPublic]:
    """Items of the job finished and not in `seen`, in the order they finished — what a
    follower prints next."""
    finished = [
        i
        for i in await job_item_rows(session=session, job_id=job_id)
        if i.status in FINISHED_ITEM and i.id not in seen
    ]
    return sorted(finished, key=lambda i: (i.finished_at is None, i.finished_at, i.id))


async def held_items(*, session: AsyncSession, worker_id: str) -> list[str]:
    """Items a worker still holds as PROCESSING (e.g. when its process is being stopped)."""
    query = select(CertificationJobItem.id).where(
        CertificationJobItem.claimed_by == worker_id,
        CertificationJobItem.status == JobItemStatus.PROCESSING,
    )
    return list((await session.execute(query)).scalars())


def is_active(status: JobStatus) -> bool:
    return status in (JobStatus.PENDING, JobStatus.QUEUED, JobStatus.PROCESSING)


# --- the operator ------------------------------------------------------------------------------
async def admin_emails(*, session: AsyncSession) -> list[str]:
    """Active admins, for the operator menu's auth status."""
    query = (
        select(User.email)
        .where(User.role == UserRole.ADMIN, User.is_active.is_(True))
        .order_by(User.email)
    )
    return list((await session.execute(query)).scalars())
