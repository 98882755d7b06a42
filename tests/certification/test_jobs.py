"""Job service: create, counters, pause / resume / cancel transitions, clean, list."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from myia.certification import jobs
from myia.certification.selection import JobSelection
from myia.db.enums import AuthType, CertificationJobType, JobItemStatus, JobStatus
from myia.db.models import CertificationJob, CertificationJobItem, ModelCertification
from myia.db.types import utcnow
from myia.errors import ConflictError, InvalidInputError, NotFoundError
from tests.factories import (
    make_base_model,
    make_certification,
    make_deployment,
    make_provider,
)

REGIONS = ["us-east-1", "eu-west-1"]


@pytest.fixture
async def catalog(session: AsyncSession) -> dict[str, Any]:
    bedrock = await make_provider(session, slug="bedrock", auth_type=AuthType.AWS_CREDENTIALS)
    openai = await make_provider(session, slug="openai")
    nova = await make_base_model(session, name="Nova Micro", vendor="Amazon")
    gpt = await make_base_model(session, name="GPT-4o", vendor="OpenAI")
    return {
        "nova": await make_deployment(
            session, base_model=nova, provider=bedrock, deployment_id="amazon.nova-micro-v1:0"
        ),
        "gpt": await make_deployment(
            session, base_model=gpt, provider=openai, deployment_id="gpt-4o"
        ),
    }


async def create(session: AsyncSession, **selection: Any) -> tuple[CertificationJob, list[str]]:
    return await jobs.create_job(
        session=session, selection=JobSelection(**selection), default_regions=REGIONS
    )


async def count(session: AsyncSession, model: Any) -> int:
    return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def set_items(session: AsyncSession, job_id: str, *statuses: JobItemStatus) -> None:
    items = await jobs.job_items(session=session, job_id=job_id)
    for item, status in zip(items, statuses, strict=False):
        await session.execute(
            update(CertificationJobItem)
            .where(CertificationJobItem.id == item.id)
            .values(status=status)
        )
    await session.commit()


async def test_create_job_writes_the_job_and_one_item_per_pair(
    session: AsyncSession, catalog: Any
) -> None:
    job, item_ids = await create(session, all=True)
    assert job.type is CertificationJobType.ALL_MODELS and job.status is JobStatus.QUEUED
    assert (job.total_models, job.processed_models) == (3, 0)
    assert job.regions == ["eu-west-1", "global", "us-east-1"]
    assert sorted(job.deployment_ids) == sorted([catalog["nova"].id, catalog["gpt"].id])
    assert job.config == {"selection": {"all": True}}
    items = await jobs.job_items(session=session, job_id=job.id)
    assert sorted(i.id for i in items) == sorted(item_ids)
    assert {(i.deployment_id, i.region, i.status) for i in items} == {
        (catalog["nova"].id, "us-east-1", JobItemStatus.QUEUED),
        (catalog["nova"].id, "eu-west-1", JobItemStatus.QUEUED),
        (catalog["gpt"].id, "global", JobItemStatus.QUEUED),
    }

    forced, _ = await jobs.create_job(
        session=session,
        selection=JobSelection(models=["gpt-4o"]),
        default_regions=REGIONS,
        created_by="someone",
        config={"delay_ms": 5},
        job_type=CertificationJobType.RECERTIFY,
    )
    assert forced.type is CertificationJobType.RECERTIFY and forced.created_by == "someone"
    assert forced.config == {"delay_ms": 5, "selection": {"models": ["gpt-4o"]}}


async def test_bad_input_writes_nothing(session: AsyncSession, catalog: Any) -> None:
    for selection in ({"models": ["nope"]}, {"all": True, "regions": ["mars-1"]}, {}):
        with pytest.raises(InvalidInputError):
            await create(session, **selection)
    assert await count(session, CertificationJob) == 0
    assert await count(session, CertificationJobItem) == 0


async def test_counters_are_recounted_from_items(session: AsyncSession, catalog: Any) -> None:
    job, _ = await create(session, all=True)
    await set_items(session, job.id, JobItemStatus.PROCESSING)
    job = await jobs.refresh_counters(session, job.id)
    assert job.status is JobStatus.PROCESSING and job.started_at is not None
    await set_items(
        session, job.id, JobItemStatus.COMPLETED, JobItemStatus.FAILED, JobItemStatus.QUEUED
    )
    job = await jobs.refresh_counters(session, job.id)
    assert (job.processed_models, job.success_count, job.failure_count) == (2, 1, 1)
    assert job.status is JobStatus.PROCESSING and job.completed_at is None
    await set_items(
        session, job.id, JobItemStatus.COMPLETED, JobItemStatus.FAILED, JobItemStatus.COMPLETED
    )
    job = await jobs.refresh_counters(session, job.id)
    await session.commit()
    assert job.status is JobStatus.COMPLETED and job.completed_at is not None
    assert (job.processed_models, job.success_count, job.failure_count) == (3, 2, 1)


async def test_transitions_and_refusals(session: AsyncSession, catalog: Any) -> None:
    job, _ = await create(session, all=True)
    with pytest.raises(ConflictError, match="cannot resume a job that is QUEUED"):
        await jobs.resume_job(session=session, job_id=job.id)
    assert (await jobs.pause_job(session=session, job_id=job.id)).status is JobStatus.PAUSED
    with pytest.raises(ConflictError) as twice:
        await jobs.pause_job(session=session, job_id=job.id)
    assert twice.value.field == "status"

    await set_items(session, job.id, JobItemStatus.COMPLETED)
    resumed, queued = await jobs.resume_job(session=session, job_id=job.id)
    assert resumed.status is JobStatus.PROCESSING and len(queued) == 2

    await set_items(session, job.id, JobItemStatus.COMPLETED, JobItemStatus.PROCESSING)
    cancelled = await jobs.cancel_job(session=session, job_id=job.id)
    assert cancelled.status is JobStatus.CANCELLED and cancelled.completed_at is not None
    statuses = [i.status for i in await jobs.job_items(session=session, job_id=job.id)]
    assert sorted(statuses) == [
        JobItemStatus.CANCELLED, JobItemStatus.CANCELLED, JobItemStatus.COMPLETED,
    ]  # fmt: skip
    assert (cancelled.success_count, cancelled.processed_models) == (1, 3)
    for verb in (jobs.pause_job, jobs.cancel_job):
        with pytest.raises(ConflictError, match="a job that is CANCELLED"):
            await verb(session=session, job_id=job.id)
    with pytest.raises(NotFoundError):
        await jobs.pause_job(session=session, job_id="missing")

    paused, _ = await create(session, models=["gpt-4o"])
    await jobs.pause_job(session=session, job_id=paused.id)
    assert (await jobs.cancel_job(session=session, job_id=paused.id)).status is JobStatus.CANCELLED


async def test_a_paused_job_whose_last_items_finished_completes_on_resume(
    session: AsyncSession, catalog: Any
) -> None:
    job, _ = await create(session, models=["gpt-4o"])
    await jobs.pause_job(session=session, job_id=job.id)
    await set_items(session, job.id, JobItemStatus.COMPLETED)
    job = await jobs.refresh_counters(session, job.id)
    await session.commit()
    assert job.status is JobStatus.PAUSED  # a pause is the operator's: counters keep it
    resumed, queued = await jobs.resume_job(session=session, job_id=job.id)
    assert resumed.status is JobStatus.COMPLETED and queued == []


async def test_clean_jobs_by_age_and_status(session: AsyncSession, catalog: Any) -> None:
    now = utcnow()
    ages = {
        JobStatus.COMPLETED: (30, 10),  # hours: one old enough, one too recent
        JobStatus.FAILED: (50, 30),
        JobStatus.CANCELLED: (50, 30),
    }
    keep: set[str] = set()
    for status, (old, recent) in ages.items():
        for hours in (old, recent):
            job, _ = await create(session, models=["gpt-4o"])
            await session.execute(
                update(CertificationJob)
                .where(CertificationJob.id == job.id)
                .values(status=status, updated_at=now - timedelta(hours=hours))
            )
            if hours == recent:
                keep.add(job.id)
    running, _ = await create(session, all=True)
    keep.add(running.id)
    await session.commit()
    await make_certification(session, deployment=catalog["gpt"], region="global")

    assert (
        await jobs.clean_jobs(
            session=session, completed_after_h=24, failed_after_h=48, dry_run=True
        )
        == 3
    )
    assert await count(session, CertificationJob) == 7
    assert await jobs.clean_jobs(session=session, completed_after_h=24, failed_after_h=48) == 3
    assert {j.id for j in await jobs.list_jobs(session=session)} == keep
    assert await count(session, CertificationJobItem) == 3 + 3  # their items went with them
    assert await count(session, ModelCertification) == 1  # results stay


async def test_list_jobs_newest_first_with_filters(session: AsyncSession, catalog: Any) -> None:
    first, _ = await create(session, models=["gpt-4o"])
    second, _ = await create(session, all=True)
    await session.execute(
        update(CertificationJob)
        .where(CertificationJob.id == first.id)
        .values(created_at=utcnow() - timedelta(minutes=5))
    )
    await session.commit()
    await jobs.pause_job(session=session, job_id=second.id)
    assert [j.id for j in await jobs.list_jobs(session=session)] == [second.id, first.id]
    assert [j.id for j in await jobs.list_jobs(session=session, limit=1)] == [second.id]
    paused = await jobs.list_jobs(session=session, status=JobStatus.PAUSED)
    assert [j.id for j in paused] == [second.id]
    with pytest.raises(NotFoundError):
        await jobs.get_job(session=session, job_id="nope")
