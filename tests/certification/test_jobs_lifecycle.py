"""Pause, resume and cancel a running job on the embedded engine, against the simulator.

Every simulated call takes 35 ms, so one item (the suite's ~8 calls) takes ~0.3 s: long
enough to act mid-job and watch what the workers do next.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from myia.certification import jobs
from myia.certification.selection import JobSelection
from myia.config import Settings
from myia.db.engine import Database
from myia.db.enums import JobItemStatus, JobStatus
from myia.db.models import CertificationJob, CertificationJobItem, ModelCertification
from myia.db.types import utcnow
from myia.queue import service
from myia.queue.embedded import EmbeddedEngine
from myia.queue.factory import limiter_config
from myia.queue.ratelimit import LocalLimiterPool
from myia.sim import Scenario, SimServer, load_scenario, running_simulator
from myia.sim.scenario import Defaults
from tests.conftest import make_settings
from tests.factories import SIM_AWS_ENV, make_sim_catalog

SCENARIO = Path(__file__).parents[2] / "scenarios" / "test-basic.yaml"
ITEMS = 14  # 6 Bedrock chat models × 2 regions + 2 OpenAI models


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario(SCENARIO).model_copy(update={"defaults": Defaults(latency=35)})


@pytest.fixture(scope="module")
def sim(scenario: Scenario) -> Iterator[SimServer]:
    with running_simulator(scenario) as server:
        yield server


@pytest.fixture
def settings(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name, value in SIM_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    return make_settings(
        DATABASE_URL=db_url,
        QUEUE_CONCURRENCY=2,
        RATE_LIMIT_RPS=500,
        WORKER_HEARTBEAT_S=0.5,
        CERTIFICATION_REGIONS="us-east-1,eu-west-1",
    )


@pytest.fixture
async def engine(
    database: Database, settings: Settings, sim: SimServer, scenario: Scenario
) -> AsyncIterator[EmbeddedEngine]:
    async with database.session() as session:
        await make_sim_catalog(session, scenario, sim.base_url)
    running = EmbeddedEngine(database, settings, LocalLimiterPool(limiter_config(settings)))
    await running.start()
    yield running
    await running.stop()


async def items(database: Database, job_id: str) -> list[CertificationJobItem]:
    async with database.session() as session:
        return await jobs.job_items(session=session, job_id=job_id)


def finished(rows: list[CertificationJobItem]) -> list[CertificationJobItem]:
    return [r for r in rows if r.status in (JobItemStatus.COMPLETED, JobItemStatus.FAILED)]


def processing(rows: list[CertificationJobItem]) -> list[CertificationJobItem]:
    return [r for r in rows if r.status is JobItemStatus.PROCESSING]


def item_seconds(rows: list[CertificationJobItem]) -> float:
    """The longest finished item (claim → finish): "one item's time"."""
    return max(
        (r.finished_at - r.claimed_at).total_seconds()
        for r in finished(rows)
        if r.finished_at and r.claimed_at
    )


async def wait_for(database: Database, job_id: str, at_least: int) -> list[CertificationJobItem]:
    async with asyncio.timeout(90):
        while True:
            rows = await items(database, job_id)
            if len(finished(rows)) >= at_least:
                return rows
            await asyncio.sleep(0.05)


async def wait_status(database: Database, job_id: str, status: JobStatus) -> CertificationJob:
    async with asyncio.timeout(90):
        while True:
            async with database.session() as session:
                job = await jobs.get_job(session=session, job_id=job_id)
            if job.status is status:
                return job
            await asyncio.sleep(0.05)


async def start(database: Database, engine: EmbeddedEngine, settings: Settings) -> str:
    async with database.session() as session:
        job = await service.submit_job(
            session=session, engine=engine, settings=settings, selection=JobSelection(all=True)
        )
    return job.id


async def test_pause_stops_new_items_within_one_item_then_resume_completes(
    database: Database, engine: EmbeddedEngine, settings: Settings
) -> None:
    job_id = await start(database, engine, settings)
    warm = await wait_for(database, job_id, 4)  # past the SDK clients' cold start
    one_item = item_seconds(warm)

    async with database.session() as session:
        await jobs.pause_job(session=session, job_id=job_id)
    paused_at: datetime = utcnow()

    # Items already running finish, within one item's time; none starts after the pause.
    async with asyncio.timeout(max(one_item * 4, 60)):  # a deadline: the bound is below
        while True:
            rows = await items(database, job_id)
            if not processing(rows):
                break
            await asyncio.sleep(0.02)
    drained_in = (utcnow() - paused_at).total_seconds()
    # "One item's time" is the slowest item's, those caught by the pause included: on a busy
    # machine an item in flight can take longer than the warm-up's; the drain waits for
    # nothing but them.
    slowest = max(one_item, item_seconds([r for r in finished(rows) if r.claimed_at]))
    assert drained_in <= slowest + 1.0, (drained_in, one_item, slowest)
    assert all(r.claimed_at is None or r.claimed_at <= paused_at for r in rows)
    done_at_pause = len(finished(rows))
    assert done_at_pause < ITEMS

    # Nothing moves while paused, however long we wait.
    await asyncio.sleep(max(3 * one_item, 1.0))
    still = await items(database, job_id)
    assert len(finished(still)) == done_at_pause and not processing(still)
    assert sum(r.status is JobItemStatus.QUEUED for r in still) == ITEMS - done_at_pause
    async with database.session() as session:
        assert (await jobs.get_job(session=session, job_id=job_id)).status is JobStatus.PAUSED

    async with database.session() as session:
        await service.resume_job(session=session, engine=engine, job_id=job_id)
    job = await wait_status(database, job_id, JobStatus.COMPLETED)
    assert (job.total_models, job.processed_models) == (ITEMS, ITEMS)
    assert job.success_count + job.failure_count == ITEMS
    final = await items(database, job_id)
    assert len(finished(final)) == ITEMS
    async with database.session() as session:
        certifications = await session.execute(select(func.count()).select_from(ModelCertification))
    assert certifications.scalar_one() == ITEMS  # one row per (deployment, region)


async def test_cancel_leaves_nothing_queued_or_running(
    database: Database, engine: EmbeddedEngine, settings: Settings
) -> None:
    job_id = await start(database, engine, settings)
    warm = await wait_for(database, job_id, 3)
    one_item = item_seconds(warm)

    async with database.session() as session:
        await jobs.cancel_job(session=session, job_id=job_id)
    rows = await items(database, job_id)
    assert not [r for r in rows if r.status in (JobItemStatus.QUEUED, JobItemStatus.PROCESSING)]
    done = {r.id for r in finished(rows)}

    # Items that were running finish into the void: their results are discarded.
    await asyncio.sleep(max(2 * one_item, 1.0))
    later = await items(database, job_id)
    assert {r.id for r in finished(later)} == done
    assert sum(r.status is JobItemStatus.CANCELLED for r in later) == ITEMS - len(done)
    async with database.session() as session:
        job = await jobs.get_job(session=session, job_id=job_id)
        certifications = await session.execute(select(func.count()).select_from(ModelCertification))
    assert job.status is JobStatus.CANCELLED and job.processed_models == ITEMS
    assert job.success_count + job.failure_count == len(done)
    assert certifications.scalar_one() == len(done)
