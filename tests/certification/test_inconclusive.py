"""A model answering nothing but transient errors ends INCONCLUSIVE, and its job completes.

Each run of its item meets only 500s and 424s (`failure_rate: 1.0`, default kinds): the core
test cannot be decided, the item goes back to the queue without charging an attempt — at
most `QUEUE_TRANSIENT_RELEASES` times — and then the certification is recorded as it is:
INCONCLUSIVE with the transient errors counted, never FAILED, never CERTIFIED. A healthy
model of the same job is certified as usual.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from myia.certification import jobs
from myia.certification.selection import JobSelection
from myia.config import Settings
from myia.db.engine import Database
from myia.db.enums import CertificationStatus, JobItemStatus, JobStatus
from myia.db.models import CertificationJob, ModelCertification, ModelDeployment
from myia.queue import service
from myia.queue.embedded import EmbeddedEngine
from myia.queue.factory import limiter_config
from myia.queue.ratelimit import LocalLimiterPool
from myia.sim import Scenario, SimServer, running_simulator
from tests.conftest import make_settings
from tests.factories import SIM_AWS_ENV, make_sim_catalog

REGION = "us-east-1"
DOWN = "acme.always-5xx-v1:0"
HEALTHY = "acme.healthy-v1:0"


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return Scenario.model_validate(
        {
            "name": "down",
            "seed": 3,
            "regions": {REGION: {}},
            "models": [
                {"id": DOWN, "provider": "Acme", "failure_rate": 1.0},  # default kinds
                {"id": HEALTHY, "provider": "Acme"},
            ],
        }
    )


@pytest.fixture(scope="module")
def sim(scenario: Scenario) -> Iterator[SimServer]:
    with running_simulator(scenario) as server:
        yield server


def settings_for(db_url: str, monkeypatch: pytest.MonkeyPatch, **overrides: object) -> Settings:
    for name, value in SIM_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    return make_settings(
        DATABASE_URL=db_url,
        QUEUE_CONCURRENCY=2,
        RATE_LIMIT_RPS=500,
        WORKER_HEARTBEAT_S=0.5,
        CERTIFICATION_REGIONS=REGION,
        # Two tries a call keeps each run short; the give-backs are the default (3).
        CERTIFICATION_TRANSIENT_ATTEMPTS=2,
        **overrides,
    )


@pytest.fixture
async def catalog(database: Database, sim: SimServer, scenario: Scenario) -> None:
    async with database.session() as session:
        await make_sim_catalog(session, scenario, sim.base_url, include_openai=False)


async def run_job(database: Database, settings: Settings) -> CertificationJob:
    engine = EmbeddedEngine(database, settings, LocalLimiterPool(limiter_config(settings)))
    await engine.start()
    try:
        async with database.session() as session:
            job = await service.submit_job(
                session=session, engine=engine, settings=settings, selection=JobSelection(all=True)
            )
        async with asyncio.timeout(120):
            while True:
                async with database.session() as session:
                    job = await jobs.get_job(session=session, job_id=job.id)
                if job.status is JobStatus.COMPLETED:
                    return job
                await asyncio.sleep(0.1)
    finally:
        await engine.stop()


async def certification(database: Database, model_id: str) -> ModelCertification:
    async with database.session() as session:
        return (
            await session.execute(
                select(ModelCertification)
                .join(ModelDeployment, ModelDeployment.id == ModelCertification.deployment_id)
                .where(ModelDeployment.deployment_id == model_id)
            )
        ).scalar_one()


async def test_a_model_answering_only_5xx_is_inconclusive_and_the_job_completes(
    database: Database, db_url: str, monkeypatch: pytest.MonkeyPatch, catalog: None
) -> None:
    settings = settings_for(db_url, monkeypatch)
    assert settings.queue_transient_releases == 3  # the documented default
    job = await run_job(database, settings)
    async with database.session() as session:
        rows = {i.deployment_id: i for i in await jobs.job_items(session=session, job_id=job.id)}
        ids = {
            d.deployment_id: d.id
            for d in (await session.execute(select(ModelDeployment))).scalars()
        }
    down_item, healthy_item = rows[ids[DOWN]], rows[ids[HEALTHY]]
    assert all(i.status is JobItemStatus.COMPLETED for i in rows.values()), rows
    assert down_item.outcome == "INCONCLUSIVE"
    assert down_item.transient_releases == 3  # given back three times, recorded the fourth
    assert down_item.attempts == 1  # the give-backs charged nothing
    assert job.failure_count == 0

    down = await certification(database, DOWN)
    assert down.status is CertificationStatus.INCONCLUSIVE
    assert down.transient_errors > 0 and down.tests_failed == 0
    assert down.rating is None and down.badge is None and down.certified_at is None
    assert not down.passed
    assert down.failure_reasons and "inconclusive after 4 runs" in down.failure_reasons[0]
    assert down.id == down_item.certification_id

    healthy = await certification(database, HEALTHY)
    assert healthy.status is CertificationStatus.CERTIFIED
    assert healthy_item.outcome == "CERTIFIED"


async def test_with_no_give_backs_the_first_undecided_run_is_recorded(
    database: Database, db_url: str, monkeypatch: pytest.MonkeyPatch, catalog: None
) -> None:
    job = await run_job(database, settings_for(db_url, monkeypatch, QUEUE_TRANSIENT_RELEASES=0))
    async with database.session() as session:
        items = await jobs.job_items(session=session, job_id=job.id)
    assert {i.outcome for i in items} == {"INCONCLUSIVE", "CERTIFIED"}
    assert all(i.transient_releases == 0 for i in items)
    down = await certification(database, DOWN)
    assert down.status is CertificationStatus.INCONCLUSIVE
    assert "inconclusive after 1 run:" in (down.failure_reasons or [""])[0]
