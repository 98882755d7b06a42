"""Cost-capped certification (issue 24, point 5) on the demo scenario, both databases.

Every item records what it spent (tokens × the deployment's price); a job with a cap never
starts an item whose estimated maximum no longer fits: such items are cancelled with the
outcome "budget" and the job's detail lists them. The reservation is atomic across workers:
two embedded workers, and two SAQ workers on Redis and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from myia.api.app import create_app
from myia.certification import jobs, queries, spend
from myia.certification.records import claimed_capabilities
from myia.certification.selection import JobSelection
from myia.db.engine import Database
from myia.db.enums import CertificationJobType, JobItemStatus, JobStatus, UserRole
from myia.db.models import (
    CertificationJob,
    CertificationJobItem,
    ModelCertification,
    ModelDeployment,
)
from myia.db.types import utcnow
from myia.queue import items
from myia.queue.embedded import EmbeddedEngine
from myia.queue.ratelimit import LocalLimiterPool
from myia.queue.saq_engine import SaqEngine
from myia.queue.service import submit_job
from myia.sim import Scenario, SimServer, load_scenario
from tests.conftest import make_settings
from tests.factories import (
    bearer_headers,
    make_base_model,
    make_deployment,
    make_provider,
    make_sim_catalog,
)
from tests.queue.saq_support import running_worker, saq_settings, wait_until_done

DEMO = Path(__file__).parents[2] / "scenarios" / "demo.yaml"
CHEAP = (
    "anthropic.claude-3-haiku-20240307-v1:0",
    "anthropic.claude-3-sonnet-20240229-v1:0",
    "anthropic.claude-3-5-sonnet-20240620-v1:0",
)
# Priced a thousand times the others: its estimated maximum never fits under the cap.
DEAR = "anthropic.claude-3-5-sonnet-20241022-v2:0"
PRICE = (1.0, 2.0)  # the factories' price per 1M tokens

pytestmark = pytest.mark.usefixtures("sim_credentials")


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario(DEMO)


async def _capped_catalog(
    database: Database, scenario: Scenario, sim: SimServer
) -> tuple[dict[str, ModelDeployment], float]:
    """The demo's Bedrock models, DEAR priced out of reach; returns them and a cap that
    holds three cheap items' estimated maxima but not DEAR's."""
    async with database.session() as session:
        made = await make_sim_catalog(session, scenario, sim.base_url, include_openai=False)
        rows = {d.deployment_id: d for d in made if d.deployment_id in (*CHEAP, DEAR)}
        await session.execute(
            update(ModelDeployment)
            .where(ModelDeployment.id == rows[DEAR].id)
            .values(cost_per_1m_input=1000.0, cost_per_1m_output=2000.0)
        )
        await session.commit()
        estimates = []
        for deployment_id in CHEAP:
            row = await session.get(ModelDeployment, rows[deployment_id].id)
            assert row is not None
            await session.refresh(row, ["base_model"])
            most = spend.max_item_cost(
                claimed=claimed_capabilities(row), deep=False, price_in=1.0, price_out=2.0
            )
            assert most is not None
            estimates.append(most)
    return rows, 3 * max(estimates)


def _selection(cap: float, **extra: Any) -> JobSelection:
    return JobSelection(models=[*CHEAP, DEAR], regions=["us-east-1"], max_cost=cap, **extra)


async def _assert_capped(database: Database, job_id: str, cap: float) -> None:
    async with database.session() as session:
        job = await session.get(CertificationJob, job_id)
        assert job is not None
        assert job.status is JobStatus.COMPLETED
        detail = await queries.job_detail(session=session, job_id=job_id, concurrency=2)
        items = {i.deployment_id: i for i in detail.items}
        certified = {
            row.deployment_id
            for row in (await session.execute(select(ModelCertification))).scalars()
        }
    dear = items[DEAR]
    assert dear.status is JobItemStatus.CANCELLED and dear.outcome == spend.BUDGET
    assert dear.error is not None and dear.error.startswith("budget")
    assert dear.cost_usd in (0.0, None) and dear.tokens_in == 0
    assert detail.uncertified_for_budget == [f"{DEAR}@us-east-1"]
    # Never started: no certification row, no call.
    assert detail.items_summary["CANCELLED"] == 1
    assert len(certified) == len(CHEAP)
    for deployment_id in CHEAP:
        item = items[deployment_id]
        assert item.status is JobItemStatus.COMPLETED, item
        assert item.tokens_in > 0 and item.tokens_out > 0
        expected = (item.tokens_in * PRICE[0] + item.tokens_out * PRICE[1]) / 1_000_000
        assert item.cost_usd == pytest.approx(expected)
    spent = sum(items[d].cost_usd or 0.0 for d in CHEAP)
    assert detail.spent_usd == pytest.approx(spent)
    assert 0 < detail.spent_usd <= cap
    assert detail.reserved_usd == pytest.approx(0.0, abs=1e-9)
    assert detail.max_cost_usd == cap
    assert detail.progress.spent_usd == pytest.approx(spent)


async def _run_embedded(database: Database, db_url: str, selection: JobSelection) -> str:
    """Run a job to its end on an embedded engine of two workers; its id."""
    settings = make_settings(DATABASE_URL=db_url, QUEUE_CONCURRENCY=2, WORKER_HEARTBEAT_S=0.5)
    engine = EmbeddedEngine(database, settings, LocalLimiterPool())
    await engine.start()
    try:
        async with database.session() as session:
            job = await submit_job(
                session=session, engine=engine, settings=settings, selection=selection
            )
        await wait_until_done(database, job.id, timeout_s=120, poll_s=0.1)
    finally:
        await engine.stop()
    return job.id


async def test_two_embedded_workers_stop_at_the_cap(
    db_url: str, database: Database, sim: SimServer, scenario: Scenario
) -> None:
    _, cap = await _capped_catalog(database, scenario, sim)
    job_id = await _run_embedded(database, db_url, _selection(cap))
    await _assert_capped(database, job_id, cap)


async def test_the_api_max_cost_stops_a_job_served_by_the_app(
    db_url: str, database: Database, sim: SimServer, scenario: Scenario
) -> None:
    """POST /api/certification-queue/jobs with `max_cost`, run by the app's own embedded
    workers: the same stop, the same report in GET /jobs/{id}."""
    _, cap = await _capped_catalog(database, scenario, sim)
    settings = make_settings(DATABASE_URL=db_url, QUEUE_WORKERS_ENABLED=True, QUEUE_CONCURRENCY=2)
    async with database.session() as session:
        headers = await bearer_headers(session, role=UserRole.ADMIN)
    api = create_app(settings, database)
    async with (
        api.router.lifespan_context(api),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://t") as client,
    ):
        created = await client.post(
            "/api/certification-queue/jobs",
            json={"models": [*CHEAP, DEAR], "regions": ["us-east-1"], "max_cost": cap},
            headers=headers,
        )
        assert created.status_code == 201, created.text
        job_id = created.json()["id"]
        await wait_until_done(database, job_id, timeout_s=120, poll_s=0.1)
        shown = await client.get(f"/api/certification-queue/jobs/{job_id}", headers=headers)
    assert shown.status_code == 200
    body = shown.json()
    assert body["uncertified_for_budget"] == [f"{DEAR}@us-east-1"]
    assert 0 < body["spent_usd"] <= cap and body["progress"]["max_cost_usd"] == cap
    await _assert_capped(database, job_id, cap)


async def test_two_saq_workers_stop_at_the_cap(
    db_url: str,
    database: Database,
    queue_url: str,
    queue_name: str,
    sim: SimServer,
    scenario: Scenario,
) -> None:
    _, cap = await _capped_catalog(database, scenario, sim)
    settings = saq_settings(db_url, queue_url, queue_name)
    producer = SaqEngine(database, settings)
    await producer.start()
    try:
        async with AsyncExitStack() as workers:
            for _ in range(2):
                await workers.enter_async_context(running_worker(settings, database))
            async with database.session() as session:
                job = await submit_job(
                    session=session, engine=producer, settings=settings, selection=_selection(cap)
                )
            await wait_until_done(database, job.id, timeout_s=120)
    finally:
        await producer.stop()
    await _assert_capped(database, job.id, cap)


async def test_a_job_without_a_cap_still_records_its_spend_and_unpriced_is_unknown(
    db_url: str, database: Database, sim: SimServer, scenario: Scenario
) -> None:
    rows, _ = await _capped_catalog(database, scenario, sim)
    async with database.session() as session:
        await session.execute(
            update(ModelDeployment)
            .where(ModelDeployment.id == rows[CHEAP[0]].id)
            .values(cost_per_1m_input=None, cost_per_1m_output=None)
        )
        await session.commit()
    selection = JobSelection(models=list(CHEAP[:2]), regions=["us-east-1"])
    job_id = await _run_embedded(database, db_url, selection)
    async with database.session() as session:
        detail = await queries.job_detail(session=session, job_id=job_id, concurrency=2)
    items = {i.deployment_id: i for i in detail.items}
    unpriced, priced = items[CHEAP[0]], items[CHEAP[1]]
    assert unpriced.cost_usd is None and unpriced.cost_reason == spend.UNPRICED
    assert unpriced.tokens_in > 0  # the tokens are known, their price is not
    assert priced.cost_usd is not None and priced.cost_usd > 0
    assert detail.unpriced_items == [f"{CHEAP[0]}@us-east-1"]
    assert detail.max_cost_usd is None and detail.spent_usd == pytest.approx(priced.cost_usd)


# --- the reservation ---------------------------------------------------------------------------
async def test_concurrent_reservations_never_pass_the_cap(database: Database) -> None:
    """Twenty sessions race for a $1.00 cap in $0.30 pieces: exactly three win."""
    async with database.session() as session:
        deployment = await make_deployment(
            session,
            base_model=await make_base_model(session),
            provider=await make_provider(session),
        )
        job = CertificationJob(
            type=CertificationJobType.SINGLE_MODEL, status=JobStatus.QUEUED, max_cost_usd=1.0
        )
        session.add(job)
        await session.flush()
        items = [
            CertificationJobItem(job_id=job.id, deployment_id=deployment.id, region=f"r-{n}")
            for n in range(20)
        ]
        session.add_all(items)
        await session.commit()
        job_id, item_ids = job.id, [i.id for i in items]

    async def one(item_id: str) -> bool:
        async with database.session() as session:
            won = await spend.reserve(session, job_id, item_id, 0.3)
            await session.commit()
            return won

    wins = await asyncio.gather(*(one(i) for i in item_ids))
    assert sum(wins) == 3
    async with database.session() as session:
        job = await session.get(CertificationJob, job_id)
        assert job is not None and job.reserved_usd == pytest.approx(0.9)
        held = (
            await session.execute(
                select(CertificationJobItem.reserved_usd).where(
                    CertificationJobItem.job_id == job_id
                )
            )
        ).scalars()
        assert sorted(held)[-3:] == pytest.approx([0.3, 0.3, 0.3])


# --- the API -----------------------------------------------------------------------------------
@pytest.fixture
async def admin(session: AsyncSession) -> dict[str, str]:
    return await bearer_headers(session, role=UserRole.ADMIN)


@pytest.fixture
async def two_models(session: AsyncSession) -> AsyncIterator[tuple[str, str]]:
    provider = await make_provider(session, slug="openai", name="OpenAI")
    priced = await make_deployment(
        session, base_model=await make_base_model(session), provider=provider, deployment_id="p"
    )
    unpriced = await make_deployment(
        session,
        base_model=await make_base_model(session),
        provider=provider,
        deployment_id="u",
        cost_per_1m_input=None,
        cost_per_1m_output=None,
    )
    yield priced.deployment_id, unpriced.deployment_id


async def _jobs(session: AsyncSession) -> int:
    return len(list((await session.execute(select(CertificationJob.id))).scalars()))


async def test_the_api_takes_max_cost_and_refuses_an_unpriced_item_by_name(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    two_models: tuple[str, str],
    session: AsyncSession,
) -> None:
    priced, unpriced = two_models
    url = "/api/certification-queue/jobs"
    refused = await client.post(
        url, json={"models": [priced, unpriced], "max_cost": 1.5}, headers=admin
    )
    assert refused.status_code == 422, refused.text
    assert "max_cost" in refused.text and f"{unpriced}@global" in refused.text
    for bad in (0, -1, "a lot", 1e9):
        response = await client.post(url, json={"models": [priced], "max_cost": bad}, headers=admin)
        assert response.status_code == 422, (bad, response.text)
        assert "max_cost" in response.text
    assert await _jobs(session) == 0  # nothing written

    created = await client.post(url, json={"models": [priced], "max_cost": 1.5}, headers=admin)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["max_cost_usd"] == 1.5 and body["spent_usd"] == 0.0
    allowed = await client.post(
        url,
        json={"models": [priced, unpriced], "max_cost": 1.5, "allow_unpriced": True},
        headers=admin,
    )
    assert allowed.status_code == 201, allowed.text
    shown = await client.get(f"{url}/{allowed.json()['id']}", headers=admin)
    assert shown.status_code == 200
    progress = shown.json()["progress"]
    assert progress["max_cost_usd"] == 1.5 and progress["spent_usd"] == 0.0


async def test_a_crashed_run_is_charged_its_whole_reservation(database: Database) -> None:
    """A worker killed mid-item cannot settle: when its item is recovered, what it held is
    charged as spent (an upper bound), so the cap still counts it."""
    async with database.session() as session:
        deployment = await make_deployment(
            session,
            base_model=await make_base_model(session),
            provider=await make_provider(session),
        )
        job = CertificationJob(
            type=CertificationJobType.SINGLE_MODEL, status=JobStatus.PROCESSING, max_cost_usd=1.0
        )
        session.add(job)
        await session.flush()
        item = CertificationJobItem(job_id=job.id, deployment_id=deployment.id, region="r")
        session.add(item)
        await session.commit()
        job_id, item_id = job.id, item.id
    async with database.session() as session:
        assert await spend.reserve(session, job_id, item_id, 0.25)
        await session.execute(
            update(CertificationJobItem)
            .where(CertificationJobItem.id == item_id)
            .values(status=JobItemStatus.PROCESSING, claimed_by="gone", claimed_at=utcnow())
        )
        await session.commit()
    async with database.session() as session:  # no heartbeat of "gone": it is dead
        assert await items.recover_orphans(session, stale_after_s=3.0) == [item_id]
    async with database.session() as session:
        job = await session.get(CertificationJob, job_id)
        item = await session.get(CertificationJobItem, item_id)
        assert job is not None and item is not None
        assert job.spent_usd == pytest.approx(0.25) and job.reserved_usd == pytest.approx(0.0)
        assert item.cost_usd == pytest.approx(0.25) and item.reserved_usd == 0.0
        assert item.status is JobItemStatus.QUEUED
        # The next run must fit beside what the crashed one may have spent.
        assert not await spend.reserve(session, job_id, item_id, 0.8)
        assert await spend.reserve(session, job_id, item_id, 0.75)


async def test_a_cancelled_item_of_a_dead_worker_is_charged_too(database: Database) -> None:
    """The job was cancelled while a worker ran one of its items, and that worker died: its
    reservation cannot stay held for ever, it is charged as spent."""
    async with database.session() as session:
        deployment = await make_deployment(
            session,
            base_model=await make_base_model(session),
            provider=await make_provider(session),
        )
        job = CertificationJob(
            type=CertificationJobType.SINGLE_MODEL, status=JobStatus.PROCESSING, max_cost_usd=1.0
        )
        session.add(job)
        await session.flush()
        item = CertificationJobItem(job_id=job.id, deployment_id=deployment.id, region="r")
        session.add(item)
        await session.commit()
        job_id, item_id = job.id, item.id
    async with database.session() as session:
        assert await spend.reserve(session, job_id, item_id, 0.25)
        await session.execute(
            update(CertificationJobItem)
            .where(CertificationJobItem.id == item_id)
            .values(status=JobItemStatus.PROCESSING, claimed_by="gone", claimed_at=utcnow())
        )
        await session.commit()
    async with database.session() as session:
        await jobs.cancel_job(session=session, job_id=job_id)
    async with database.session() as session:
        assert await items.recover_orphans(session, stale_after_s=3.0) == []
    async with database.session() as session:
        job = await session.get(CertificationJob, job_id)
        assert job is not None and job.status is JobStatus.CANCELLED
        assert job.spent_usd == pytest.approx(0.25) and job.reserved_usd == pytest.approx(0.0)
