"""/admin/jobs as the CLI and the job API: every selection of POST /api/v2/certification/jobs
on the start form, and clean (count, confirm, delete) and sync on the page (issue 28)."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.db.enums import CertificationJobType, JobItemStatus, JobStatus
from myia.db.models import CertificationJob, CertificationJobItem, ModelDeployment, Provider
from myia.db.types import utcnow
from tests.factories import make_certification


async def _deployments(session: AsyncSession, provider: str) -> list[ModelDeployment]:
    query = (
        select(ModelDeployment)
        .join(Provider, ModelDeployment.provider_id == Provider.id)
        .where(Provider.slug == provider, ModelDeployment.is_active.is_(True))
    )
    return list((await session.scalars(query)).all())


async def _items(session: AsyncSession, job_id: str) -> set[tuple[str, str]]:
    await session.rollback()  # a fresh snapshot
    rows = await session.execute(
        select(CertificationJobItem.deployment_id, CertificationJobItem.region).where(
            CertificationJobItem.job_id == job_id
        )
    )
    return {(d, r) for d, r in rows.all()}


async def test_the_start_form_offers_every_selection_of_the_api(
    admin_client: httpx.AsyncClient,
) -> None:
    page = (await admin_client.get("/admin/jobs")).text
    for needle in (
        'name="scope" value="all"',
        'name="which" value="uncertified"',
        'name="which" value="expired"',
        'name="which" value="older_than"',
        'name="older_than_days"',
        'name="provider"',
        'name="vendor"',
        'name="models"',
        'name="regions"',
        'name="deep"',
        'name="probe_unlisted"',
        'action="/admin/jobs/clean"',
        'action="/admin/jobs/sync"',
    ):
        assert needle in page, needle


async def test_uncertified_only_on_one_provider(
    admin_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    openai = await _deployments(session, "openai")
    assert len(openai) >= 2
    done = openai[0]
    await make_certification(session, deployment=done, region="global")
    token = admin_client.headers["x-test-csrf"]
    started = await admin_client.post(
        "/admin/jobs",
        data={"csrf_token": token, "scope": "all", "which": "uncertified", "provider": "openai"},
    )
    assert started.status_code == 303, started.text
    job_id = started.headers["location"].rsplit("/", 1)[-1]
    items = await _items(session, job_id)
    # Every OpenAI deployment but the certified one, in `global`; nothing of another provider.
    assert items == {(d.id, "global") for d in openai if d.id != done.id}
    job = await session.get(CertificationJob, job_id)
    assert job is not None and job.config is not None and job.config["source"] == "web"
    assert job.config["selection"] == {
        "all": True,
        "provider": "openai",
        "recertify": "uncertified",
    }


async def test_older_than_and_expired_reach_the_selection(
    admin_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    openai = await _deployments(session, "openai")
    old, fresh = openai[0], openai[1]
    await make_certification(session, deployment=old, region="global",
                             last_tested_at=utcnow() - timedelta(days=40))  # fmt: skip
    await make_certification(session, deployment=fresh, region="global")
    token = admin_client.headers["x-test-csrf"]
    started = await admin_client.post(
        "/admin/jobs",
        data={"csrf_token": token, "scope": "all", "which": "older_than",
              "older_than_days": "30", "provider": "openai"},
    )  # fmt: skip
    assert started.status_code == 303, started.text
    items = await _items(session, started.headers["location"].rsplit("/", 1)[-1])
    assert items == {(old.id, "global")}

    # Refusals name the field and create nothing.
    before = (await session.execute(select(func.count()).select_from(CertificationJob))).scalar()
    for data, named in (
        ({"which": "older_than"}, "f-older_than_days-error"),
        ({"which": "older_than", "older_than_days": "0"}, "f-older_than_days-error"),
        ({"which": "older_than", "older_than_days": "many"}, "f-older_than_days-error"),
        ({"which": "", "older_than_days": "5"}, "f-older_than_days-error"),
        ({"which": "forever"}, "which"),
        ({"provider": "no-such-provider", "which": ""}, "f-models-error"),
    ):
        refused = await admin_client.post(
            "/admin/jobs", data={"csrf_token": token, "scope": "all", **data}
        )
        assert refused.status_code == 422, data
        assert named in refused.text, (data, refused.text[-2000:])
    await session.rollback()
    after = (await session.execute(select(func.count()).select_from(CertificationJob))).scalar()
    assert after == before


async def _old_jobs(session: AsyncSession) -> tuple[str, str]:
    long_ago = utcnow() - timedelta(hours=100)
    old = CertificationJob(type=CertificationJobType.ALL_MODELS, status=JobStatus.COMPLETED,
                           created_at=long_ago, updated_at=long_ago)  # fmt: skip
    recent = CertificationJob(type=CertificationJobType.ALL_MODELS, status=JobStatus.COMPLETED)
    session.add_all([old, recent])
    await session.commit()
    return old.id, recent.id


async def test_clean_counts_then_deletes_on_confirmation(
    admin_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    old, recent = await _old_jobs(session)
    token = admin_client.headers["x-test-csrf"]

    preview = await admin_client.post("/admin/jobs/clean", data={"csrf_token": token})
    assert preview.status_code == 200
    assert "1 finished job(s) would be deleted" in preview.text
    assert 'name="confirm" value="yes"' in preview.text
    await session.rollback()
    assert await session.get(CertificationJob, old) is not None  # counting deleted nothing

    bad = await admin_client.post(
        "/admin/jobs/clean", data={"csrf_token": token, "completed_after_h": "-1"}
    )
    assert bad.status_code == 422 and 'id="f-completed_after_h-error"' in bad.text
    no_token = await admin_client.post("/admin/jobs/clean", data={"confirm": "yes"})
    assert no_token.status_code == 403

    done = await admin_client.post(
        "/admin/jobs/clean",
        data={"csrf_token": token, "confirm": "yes", "completed_after_h": "24",
              "failed_after_h": "48"},
    )  # fmt: skip
    assert done.status_code == 200 and "1 finished job(s) deleted" in done.text
    await session.rollback()
    session.expunge_all()
    assert await session.get(CertificationJob, old) is None
    assert await session.get(CertificationJob, recent) is not None


async def test_sync_recovers_an_item_of_a_dead_worker(
    admin_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    deployment = (await _deployments(session, "openai"))[0]
    job = CertificationJob(type=CertificationJobType.SINGLE_MODEL, status=JobStatus.PROCESSING,
                           total_models=1)  # fmt: skip
    session.add(job)
    await session.flush()
    item = CertificationJobItem(job_id=job.id, deployment_id=deployment.id, region="global",
                                status=JobItemStatus.PROCESSING, claimed_by="ghost-worker",
                                claimed_at=utcnow() - timedelta(hours=1))  # fmt: skip
    session.add(item)
    await session.commit()
    token = admin_client.headers["x-test-csrf"]
    synced = await admin_client.post("/admin/jobs/sync", data={"csrf_token": token})
    assert synced.status_code == 200
    assert "Queue synchronised with the database" in synced.text
    await session.rollback()
    session.expunge_all()
    row = await session.get(CertificationJobItem, item.id)
    assert row is not None and row.claimed_by != "ghost-worker"


async def test_a_plain_user_cannot_clean_or_sync(user_client: httpx.AsyncClient) -> None:
    token = user_client.headers["x-test-csrf"]
    for path in ("/admin/jobs/clean", "/admin/jobs/sync"):
        refused = await user_client.post(path, data={"csrf_token": token, "confirm": "yes"})
        assert refused.status_code == 403, path
