"""The read side of jobs (myia.certification.queries): detail with ETA, items in the order
they finished, the cleanup of a recertification, items a worker holds, operator info."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from myia.certification import jobs, queries
from myia.certification.selection import JobSelection
from myia.db.enums import AuthType, JobItemStatus, UserRole
from myia.db.models import CertificationJobItem, ModelDeployment
from myia.db.types import utcnow
from tests.factories import (
    make_base_model,
    make_certification,
    make_deployment,
    make_provider,
    make_user,
)


@dataclass
class Setup:
    id: str
    deployment: ModelDeployment


@pytest.fixture
async def job(session: AsyncSession) -> Setup:
    """Nova on bedrock in three regions: a job of three items."""
    bedrock = await make_provider(session, slug="bedrock", auth_type=AuthType.AWS_CREDENTIALS)
    nova = await make_base_model(session, name="Nova Micro", vendor="Amazon")
    deployment = await make_deployment(
        session, base_model=nova, provider=bedrock, deployment_id="amazon.nova-micro-v1:0"
    )
    created, _ = await jobs.create_job(
        session=session,
        selection=JobSelection(vendor="amazon", regions=["us-east-1", "eu-west-1", "us-west-2"]),
        default_regions=[],
    )
    return Setup(created.id, deployment)


async def finish(
    session: AsyncSession,
    item: CertificationJobItem,
    status: JobItemStatus,
    seconds: float,
    ago: float,
) -> None:
    now = utcnow()
    await session.execute(
        update(CertificationJobItem)
        .where(CertificationJobItem.id == item.id)
        .values(
            status=status,
            claimed_at=now - timedelta(seconds=ago + seconds),
            finished_at=now - timedelta(seconds=ago),
            attempts=1,
            outcome="CERTIFIED" if status is JobItemStatus.COMPLETED else "ACCESS_DENIED",
        )
    )
    await jobs.refresh_counters(session, item.job_id)
    await session.commit()


async def test_detail_progress_eta_and_items(session: AsyncSession, job: Setup) -> None:
    detail = await queries.job_detail(session=session, job_id=job.id, concurrency=2)
    assert detail.progress.percent == 0 and detail.progress.eta_seconds is None
    assert detail.items_summary == {
        "QUEUED": 3, "PROCESSING": 0, "COMPLETED": 0, "FAILED": 0, "CANCELLED": 0,
    }  # fmt: skip

    first, second, _third = await jobs.job_items(session=session, job_id=job.id)
    cert = await make_certification(
        session, deployment=job.deployment, region=first.region, rating=4.6, badge="PREMIUM"
    )
    await session.execute(
        update(CertificationJobItem)
        .where(CertificationJobItem.id == first.id)
        .values(certification_id=cert.id)
    )
    await finish(session, first, JobItemStatus.COMPLETED, seconds=4, ago=1)
    await finish(session, second, JobItemStatus.FAILED, seconds=2, ago=5)

    detail = await queries.job_detail(session=session, job_id=job.id, concurrency=2)
    assert detail.status.value == "PROCESSING"
    assert (detail.progress.processed, detail.progress.total) == (2, 3)
    # One item left × this job's own average item time (3 s) ÷ 2 workers.
    assert detail.progress.eta_seconds == 1.5
    assert detail.items_summary["COMPLETED"] == 1 and detail.items_summary["FAILED"] == 1
    by_region = {i.region: i for i in detail.items}
    done = by_region[first.region]
    assert (done.rating, done.badge, done.duration_s) == (4.6, "PREMIUM", 4.0)
    assert done.deployment_id == "amazon.nova-micro-v1:0" and done.vendor == "Amazon"
    assert by_region[second.region].outcome == "ACCESS_DENIED"

    # In the order they finished, skipping those already seen.
    fresh = await queries.finished_items_since(session=session, job_id=job.id, seen=set())
    assert [i.id for i in fresh] == [second.id, first.id]
    seen = {second.id}
    rest = await queries.finished_items_since(session=session, job_id=job.id, seen=seen)
    assert [i.id for i in rest] == [first.id]


async def test_cleanup_of_a_recertification_deletes_only_its_pairs(
    session: AsyncSession, job: Setup
) -> None:
    for region in ("us-east-1", "eu-west-1", "ap-south-1"):
        await make_certification(session, deployment=job.deployment, region=region)
    assert await queries.delete_certifications_of_job(session=session, job_id=job.id) == 2
    left = await queries.certifications_of(session=session, deployment_ids=[job.deployment.id])
    assert list(left) == [(job.deployment.id, "ap-south-1")]


async def test_items_held_by_a_worker_and_admins(session: AsyncSession, job: Setup) -> None:
    first, *_ = await jobs.job_items(session=session, job_id=job.id)
    await session.execute(
        update(CertificationJobItem)
        .where(CertificationJobItem.id == first.id)
        .values(status=JobItemStatus.PROCESSING, claimed_by="w-1")
    )
    await session.commit()
    assert await queries.held_items(session=session, worker_id="w-1") == [first.id]
    assert await queries.held_items(session=session, worker_id="w-2") == []

    admin = await make_user(session, role=UserRole.ADMIN)
    await make_user(session, role=UserRole.USER)
    assert await queries.admin_emails(session=session) == [admin.email]
