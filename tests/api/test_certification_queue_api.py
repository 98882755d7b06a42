"""/api/certification-queue: jobs, transitions, clean, sync, stats, certifications — success,
bad input and admin-only access, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from myia.db.enums import AuthType, CertificationStatus, JobItemStatus, JobStatus, UserRole
from myia.db.models import CertificationJob, CertificationJobItem
from myia.db.types import utcnow
from tests.factories import (
    bearer_headers,
    capabilities,
    make_base_model,
    make_certification,
    make_deployment,
    make_provider,
)

URL = "/api/certification-queue"
CLAUDE = "anthropic.claude-3-5-sonnet-20241022-v2:0"
NOVA = "amazon.nova-micro-v1:0"


@pytest.fixture
async def admin(session: AsyncSession) -> dict[str, str]:
    return await bearer_headers(session, role=UserRole.ADMIN)


@pytest.fixture
async def catalog(session: AsyncSession) -> dict[str, Any]:
    """Claude and Nova on a regional provider (bedrock), GPT-4o on a global one (openai)."""
    bedrock = await make_provider(
        session, slug="bedrock", name="AWS Bedrock", auth_type=AuthType.AWS_CREDENTIALS
    )
    openai = await make_provider(session, slug="openai", name="OpenAI")
    claude = await make_base_model(
        session, name="Claude 3.5 Sonnet", vendor="Anthropic", capabilities=capabilities()
    )
    nova = await make_base_model(
        session, name="Nova Micro", vendor="Amazon", capabilities=capabilities()
    )
    gpt = await make_base_model(session, name="GPT-4o", vendor="OpenAI")
    return {
        "claude": claude,
        "nova": nova,
        "gpt": gpt,
        "claude@bedrock": await make_deployment(
            session, base_model=claude, provider=bedrock, deployment_id=CLAUDE
        ),
        "nova@bedrock": await make_deployment(
            session, base_model=nova, provider=bedrock, deployment_id=NOVA
        ),
        "gpt@openai": await make_deployment(
            session, base_model=gpt, provider=openai, deployment_id="gpt-4o"
        ),
    }


def fields_of(response: httpx.Response) -> set[str]:
    assert response.status_code == 422, response.text
    return {error["field"] for error in response.json()["errors"]}


def assert_conflict(response: httpx.Response, status: str) -> None:
    """A transition the job's status forbids: 409, naming the status it is in."""
    assert response.status_code == 409, response.text
    body = response.json()
    assert body["field"] == "status" and f"a job that is {status}" in body["detail"]


async def job_count(session: AsyncSession) -> int:
    count = (await session.execute(select(func.count()).select_from(CertificationJob))).scalar_one()
    await session.commit()  # end the read: on SQLite every transaction holds the write lock
    return int(count)


async def create(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> Any:
    response = await client.post(f"{URL}/jobs", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


# --- access --------------------------------------------------------------------------------
ROUTES = [
    ("POST", "/jobs", {"all": True}),
    ("GET", "/jobs", None),
    ("GET", "/jobs/00000000-0000-0000-0000-000000000000", None),
    ("POST", "/jobs/00000000-0000-0000-0000-000000000000/pause", None),
    ("POST", "/jobs/00000000-0000-0000-0000-000000000000/resume", None),
    ("POST", "/jobs/00000000-0000-0000-0000-000000000000/cancel", None),
    ("POST", "/clean", None),
    ("POST", "/sync", None),
    ("GET", "/stats", None),
    ("GET", "/certifications", None),
]


async def test_every_route_is_admin_only(
    client: httpx.AsyncClient, session: AsyncSession, catalog: dict[str, Any]
) -> None:
    user = await bearer_headers(session, role=UserRole.USER)
    for method, path, body in ROUTES:
        anonymous = await client.request(method, URL + path, json=body)
        assert anonymous.status_code == 401, (method, path, anonymous.text)
        plain = await client.request(method, URL + path, json=body, headers=user)
        assert plain.status_code == 403, (method, path, plain.text)
    assert await job_count(session) == 0


# --- jobs ----------------------------------------------------------------------------------
async def test_create_job_then_detail(
    client: httpx.AsyncClient, session: AsyncSession, admin: dict[str, str], catalog: Any
) -> None:
    job = await create(client, admin, models=[CLAUDE], regions=["us-east-1", "eu-west-1"])
    assert (job["type"], job["status"], job["total_models"]) == ("SINGLE_MODEL", "QUEUED", 2)
    assert job["regions"] == ["eu-west-1", "us-east-1"]
    assert job["created_by"] is not None and job["config"]["source"] == "api"

    response = await client.get(f"{URL}/jobs/{job['id']}", headers=admin)
    assert response.status_code == 200, response.text
    detail = response.json()
    assert detail["progress"]["percent"] == 0 and detail["progress"]["total"] == 2
    assert detail["items_summary"]["QUEUED"] == 2 and detail["items_summary"]["COMPLETED"] == 0
    assert {(i["deployment_id"], i["region"], i["status"]) for i in detail["items"]} == {
        (CLAUDE, "us-east-1", "QUEUED"),
        (CLAUDE, "eu-west-1", "QUEUED"),
    }
    assert detail["items"][0]["base_model_name"] == "Claude 3.5 Sonnet"
    assert detail["items"][0]["provider_slug"] == "bedrock"

    # All models: 2 regional deployments × 3 default regions + 1 global deployment.
    everything = await create(client, admin, all=True)
    assert (everything["type"], everything["total_models"]) == ("ALL_MODELS", 7)
    by_vendor = await create(client, admin, vendor="amazon", regions=["us-west-2"])
    assert by_vendor["total_models"] == 1
    by_name = await create(client, admin, models=["GPT-4o", catalog["nova"].id])
    assert (by_name["type"], by_name["total_models"]) == ("MULTIPLE_MODELS", 4)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"models": ["no-such-model"]}, "models"),
        ({"models": [CLAUDE], "regions": ["mars-north-1"]}, "regions"),
        ({}, "selection"),
        ({"models": [CLAUDE], "all": True}, "all"),
        ({"recertify": "older_than", "all": True}, "older_than_days"),
        ({"all": True, "colour": "blue"}, "colour"),
        ({"models": "not-a-list"}, "models"),
        ({"vendor": "nobody"}, "selection"),
    ],
)
async def test_bad_selection_is_422_and_creates_no_job(
    client: httpx.AsyncClient,
    session: AsyncSession,
    admin: dict[str, str],
    catalog: Any,
    body: dict[str, Any],
    field: str,
) -> None:
    response = await client.post(f"{URL}/jobs", json=body, headers=admin)
    assert field in fields_of(response)
    assert await job_count(session) == 0
    assert (await client.get(f"{URL}/jobs", headers=admin)).json()["count"] == 0


async def test_list_jobs_filters_by_status_and_limit(
    client: httpx.AsyncClient, admin: dict[str, str], catalog: Any
) -> None:
    first = await create(client, admin, models=[CLAUDE])
    second = await create(client, admin, models=[NOVA])
    await client.post(f"{URL}/jobs/{first['id']}/pause", headers=admin)

    listed = (await client.get(f"{URL}/jobs", headers=admin)).json()
    assert listed["count"] == 2
    assert {j["id"] for j in listed["items"]} == {first["id"], second["id"]}
    paused = (await client.get(f"{URL}/jobs", params={"status": "PAUSED"}, headers=admin)).json()
    assert [j["id"] for j in paused["items"]] == [first["id"]]
    limited = (await client.get(f"{URL}/jobs", params={"limit": 1}, headers=admin)).json()
    assert limited["count"] == 1
    assert fields_of(await client.get(f"{URL}/jobs", params={"status": "ASLEEP"}, headers=admin))
    assert "limit" in fields_of(await client.get(f"{URL}/jobs?limit=0", headers=admin))


async def test_pause_resume_cancel_and_refused_transitions(
    client: httpx.AsyncClient, session: AsyncSession, admin: dict[str, str], catalog: Any
) -> None:
    job = await create(client, admin, all=True)
    path = f"{URL}/jobs/{job['id']}"

    assert_conflict(await client.post(f"{path}/resume", headers=admin), "QUEUED")
    paused = await client.post(f"{path}/pause", headers=admin)
    assert paused.status_code == 200 and paused.json()["status"] == "PAUSED"
    assert_conflict(await client.post(f"{path}/pause", headers=admin), "PAUSED")
    resumed = await client.post(f"{path}/resume", headers=admin)
    assert resumed.status_code == 200 and resumed.json()["status"] == "QUEUED"
    cancelled = await client.post(f"{path}/cancel", headers=admin)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "CANCELLED"
    for verb in ("pause", "resume", "cancel"):
        assert_conflict(await client.post(f"{path}/{verb}", headers=admin), "CANCELLED")

    open_items = await session.execute(
        select(func.count())
        .select_from(CertificationJobItem)
        .where(
            CertificationJobItem.job_id == job["id"],
            CertificationJobItem.status.in_((JobItemStatus.QUEUED, JobItemStatus.PROCESSING)),
        )
    )
    assert open_items.scalar_one() == 0
    await session.commit()
    detail = (await client.get(path, headers=admin)).json()
    assert detail["items_summary"]["CANCELLED"] == 7 and detail["progress"]["eta_seconds"] is None

    missing = f"{URL}/jobs/00000000-0000-0000-0000-000000000000"
    assert (await client.get(missing, headers=admin)).status_code == 404
    assert (await client.post(f"{missing}/pause", headers=admin)).status_code == 404


async def test_clean_old_jobs_with_defaults_and_dry_run(
    client: httpx.AsyncClient, session: AsyncSession, admin: dict[str, str], catalog: Any
) -> None:
    old_failed = await create(client, admin, models=[CLAUDE])
    recent_done = await create(client, admin, models=[NOVA])
    running = await create(client, admin, models=["gpt-4o"])
    now = utcnow()
    await session.execute(
        update(CertificationJob)
        .where(CertificationJob.id == old_failed["id"])
        .values(status=JobStatus.FAILED, updated_at=now - timedelta(hours=72))
    )
    await session.execute(
        update(CertificationJob)
        .where(CertificationJob.id == recent_done["id"])
        .values(status=JobStatus.COMPLETED, updated_at=now - timedelta(hours=3))
    )
    await session.commit()

    dry = await client.post(f"{URL}/clean", json={"dry_run": True}, headers=admin)
    assert dry.status_code == 200, dry.text
    assert dry.json() == {
        "deleted": 1,
        "dry_run": True,
        "completed_after_h": 24.0,
        "failed_after_h": 48.0,
    }
    assert await job_count(session) == 3
    assert (await client.post(f"{URL}/clean", headers=admin)).json()["deleted"] == 1
    custom = await client.post(f"{URL}/clean", json={"completed_after_h": 1}, headers=admin)
    assert custom.json()["deleted"] == 1
    remaining = (await client.get(f"{URL}/jobs", headers=admin)).json()["items"]
    assert [j["id"] for j in remaining] == [running["id"]]

    assert "completed_after_h" in fields_of(
        await client.post(f"{URL}/clean", json={"completed_after_h": 0}, headers=admin)
    )
    assert "force" in fields_of(await client.post(f"{URL}/clean", json={"force": 1}, headers=admin))


async def test_sync_recovers_items_of_dead_workers(
    client: httpx.AsyncClient, session: AsyncSession, admin: dict[str, str], catalog: Any
) -> None:
    job = await create(client, admin, models=[CLAUDE], regions=["us-east-1"])
    await session.execute(
        update(CertificationJobItem)
        .where(CertificationJobItem.job_id == job["id"])
        .values(
            status=JobItemStatus.PROCESSING,
            claimed_by="embedded-gone-1",
            claimed_at=utcnow() - timedelta(minutes=10),
        )
    )
    await session.commit()
    response = await client.post(f"{URL}/sync", headers=admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"requeued", "dropped", "recovered", "recounted"}
    assert (body["requeued"], body["dropped"], body["recovered"]) == (0, 0, 1)
    detail = (await client.get(f"{URL}/jobs/{job['id']}", headers=admin)).json()
    assert detail["items"][0]["status"] == "QUEUED"
    again = await client.post(f"{URL}/sync", headers=admin)
    assert again.json()["recovered"] == 0


async def test_sync_recounts_a_job_left_processing_with_every_item_finished(
    client: httpx.AsyncClient, session: AsyncSession, admin: dict[str, str], catalog: Any
) -> None:
    job = await create(client, admin, models=[CLAUDE], regions=["us-east-1"])
    await session.execute(
        update(CertificationJobItem)
        .where(CertificationJobItem.job_id == job["id"])
        .values(status=JobItemStatus.COMPLETED, finished_at=utcnow())
    )
    await session.execute(
        update(CertificationJob)
        .where(CertificationJob.id == job["id"])
        .values(status=JobStatus.PROCESSING)
    )
    await session.commit()
    response = await client.post(f"{URL}/sync", headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["recounted"] == 1
    detail = (await client.get(f"{URL}/jobs/{job['id']}", headers=admin)).json()
    assert detail["status"] == "COMPLETED"
    again = await client.post(f"{URL}/sync", headers=admin)
    assert again.json()["recounted"] == 0


async def test_stats_counts_progress_and_engine(
    client: httpx.AsyncClient, admin: dict[str, str], catalog: Any
) -> None:
    job = await create(client, admin, all=True)
    paused = await create(client, admin, models=[CLAUDE], regions=["us-east-1"])
    await client.post(f"{URL}/jobs/{paused['id']}/pause", headers=admin)

    response = await client.get(f"{URL}/stats", headers=admin)
    assert response.status_code == 200, response.text
    stats = response.json()
    assert (stats["waiting"], stats["delayed"], stats["active"]) == (7, 1, 0)
    assert (stats["completed"], stats["failed"]) == (0, 0)
    progress = {j["job_id"]: j for j in stats["jobs"]}
    assert progress[job["id"]]["total"] == 7 and progress[job["id"]]["percent"] == 0
    assert progress[paused["id"]]["status"] == "PAUSED"
    assert stats["engine"]["engine"] == "embedded" and stats["engine"]["status"] == "up"
    assert stats["last_24h"]["items"] == 0 and stats["last_24h"]["alerts"] == []
    assert stats["last_24h"]["thresholds"]["success_rate_min"] == 0.95
    assert stats["workers"] == []


# --- certifications --------------------------------------------------------------------------
async def test_certifications_filters_and_pagination(
    client: httpx.AsyncClient, session: AsyncSession, admin: dict[str, str], catalog: Any
) -> None:
    claude, nova, gpt = catalog["claude@bedrock"], catalog["nova@bedrock"], catalog["gpt@openai"]
    await make_certification(session, deployment=claude, region="us-east-1", badge="PREMIUM")
    await make_certification(
        session,
        deployment=claude,
        region="eu-west-1",
        status=CertificationStatus.FAILED,
        rating=0.0,
        badge="FAILED",
        error_category="NOT_AVAILABLE_IN_REGION",
        certified_at=None,
    )
    await make_certification(
        session,
        deployment=nova,
        region="us-east-1",
        status=CertificationStatus.QUALITY_WARNING,
        expires_at=utcnow() - timedelta(days=1),
    )
    await make_certification(session, deployment=gpt, region="global")

    async def found(**params: Any) -> list[tuple[str, str]]:
        response = await client.get(f"{URL}/certifications", params=params, headers=admin)
        assert response.status_code == 200, response.text
        return [(c["deployment_id"], c["region"]) for c in response.json()["items"]]

    everything = await client.get(f"{URL}/certifications", headers=admin)
    body = everything.json()
    assert body["total"] == 4 and (body["page"], body["page_size"]) == (1, 50)
    first = body["items"][0]
    assert (first["vendor"], first["base_model_name"], first["provider_slug"]) == (
        "Amazon",
        "Nova Micro",
        "bedrock",
    )
    assert first["expired"] is True and first["status"] == "QUALITY_WARNING"
    shown = {"rating", "badge", "success_rate", "avg_latency_ms", "certified_at", "expires_at"}
    assert shown <= set(first)

    assert await found(deployment=CLAUDE) == [(CLAUDE, "eu-west-1"), (CLAUDE, "us-east-1")]
    assert await found(deployment=claude.id, region="us-east-1") == [(CLAUDE, "us-east-1")]
    assert await found(model="GPT-4o") == [("gpt-4o", "global")]
    assert await found(model=catalog["nova"].id) == [(NOVA, "us-east-1")]
    assert await found(vendor="anthropic", status="FAILED") == [(CLAUDE, "eu-west-1")]
    assert await found(badge="PREMIUM") == [(CLAUDE, "us-east-1")]
    assert await found(provider="openai") == [("gpt-4o", "global")]
    assert await found(region="ap-south-1") == []
    page = await client.get(
        f"{URL}/certifications", params={"page": 2, "page_size": 3}, headers=admin
    )
    assert page.json()["total"] == 4 and len(page.json()["items"]) == 1
    failed = (await client.get(f"{URL}/certifications?status=FAILED", headers=admin)).json()
    assert failed["items"][0]["error_category"] == "NOT_AVAILABLE_IN_REGION"

    for params, field in [
        ({"status": "GREAT"}, "status"),
        ({"badge": "GOLD"}, "badge"),
        ({"region": "mars-north-1"}, "region"),
        ({"page_size": 500}, "page_size"),
        ({"colour": "red"}, "colour"),
    ]:
        response = await client.get(f"{URL}/certifications", params=params, headers=admin)
        assert field in fields_of(response), params
