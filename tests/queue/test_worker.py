"""An SAQ worker in this process (real Redis, the simulator, both databases): it runs a job to
completion, reports itself in its health endpoint and in /api/health, and queues an unsettled
item again for when the database says it is due."""

from __future__ import annotations

import asyncio
import math
from datetime import timedelta
from typing import Any, cast

import httpx
import pytest
from saq import Job
from saq.job import Status
from sqlalchemy import select, update
from typer.testing import CliRunner

from myia.api.app import create_app
from myia.certification import jobs
from myia.certification.selection import JobSelection
from myia.cli.main import app as cli
from myia.config import Settings, reset_settings_cache
from myia.db.engine import Database
from myia.db.enums import JobItemStatus
from myia.db.models import (
    CertificationJobItem,
    ModelCertification,
    ModelDeployment,
    WorkerHeartbeat,
)
from myia.db.types import utcnow
from myia.queue.execute import Executor
from myia.queue.ratelimit import LocalLimiterPool, RedisLimiter
from myia.queue.saq_engine import TASK, item_key
from myia.queue.service import submit_job
from myia.queue.worker import WorkerContext, WorkerRuntime, _after_process
from myia.sim import Scenario, SimServer, running_simulator
from tests.factories import make_sim_catalog
from tests.queue.saq_support import (
    assert_settled,
    purge_queue,
    running_worker,
    saq_settings,
    scenario_with_latency,
    wait_until_done,
)

SONNET = "anthropic.claude-3-5-sonnet-20241022-v2:0"


pytestmark = pytest.mark.usefixtures("sim_credentials")


@pytest.fixture
def saq(db_url: str, queue_url: str, queue_name: str) -> Settings:
    return saq_settings(db_url, queue_url, queue_name)


async def test_a_worker_runs_a_job_and_reports_its_health(
    saq: Settings, database: Database, sim: SimServer, scenario: Scenario
) -> None:
    async with database.session() as session:
        await make_sim_catalog(session, scenario, sim.base_url)
    api = create_app(saq, database)
    async with (
        api.router.lifespan_context(api),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://t") as client,
        running_worker(saq, database) as worker,
    ):
        async with database.session() as session:
            job = await submit_job(
                session=session,
                engine=api.state.myia.queue,
                settings=saq,
                selection=JobSelection(all=True, regions=["us-east-1", "eu-west-1"]),
            )
        port = worker.runtime.health.port if worker.runtime.health else 0
        async with httpx.AsyncClient() as plain:
            own = await plain.get(f"http://127.0.0.1:{port}/health")
            missing = await plain.get(f"http://127.0.0.1:{port}/nope")
        report = (await client.get("/api/health")).json()
        await wait_until_done(database, job.id, timeout_s=60)
        await api.state.myia.queue.stop()

    assert own.status_code == 200, own.text
    assert own.json()["status"] == "healthy" and own.json()["worker"] == "running"
    assert own.json()["worker_id"] == worker.runtime.worker_id
    assert missing.status_code == 404
    assert report["status"] == "healthy", report
    assert report["queue"]["engine"] == "saq" and report["queue"]["queue"] == saq.queue_name
    assert [w["id"] for w in report["workers"]["workers"] if w["alive"]] == [worker.id]

    await assert_settled(database, job.id)
    async with database.session() as session:
        rows = await session.execute(
            select(ModelDeployment.deployment_id, ModelCertification.status)
            .join(ModelDeployment, ModelDeployment.id == ModelCertification.deployment_id)
            .where(ModelCertification.region == "us-east-1")
        )
        statuses = {deployment_id: status.value for deployment_id, status in rows.all()}
        # A stopped worker takes its heartbeat with it.
        assert await session.get(WorkerHeartbeat, worker.id) is None
    assert statuses[SONNET] == "CERTIFIED"
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as plain:
            await plain.get(f"http://127.0.0.1:{port}/health")


async def _items(database: Database, settings: Settings, runtime: WorkerRuntime) -> list[str]:
    async with database.session() as session:
        job = await submit_job(
            session=session,
            engine=runtime.engine,
            settings=settings,
            selection=JobSelection(models=[SONNET], regions=["us-east-1", "eu-west-1"]),
        )
        return [i.id for i in await jobs.job_items(session=session, job_id=job.id)]


async def _set(database: Database, item_id: str, **values: Any) -> None:
    async with database.session() as session:
        await session.execute(
            update(CertificationJobItem).where(CertificationJobItem.id == item_id).values(**values)
        )
        await session.commit()


async def test_an_unsettled_item_is_queued_again_for_when_it_is_due(
    saq: Settings, database: Database, sim: SimServer, scenario: Scenario
) -> None:
    async with database.session() as session:
        await make_sim_catalog(session, scenario, sim.base_url, include_openai=False)
    runtime = WorkerRuntime(saq, database=database)
    queue = runtime.engine.queue
    try:
        retried, held = await _items(database, saq, runtime)
        for item_id in (retried, held):  # as if a worker had just run their jobs
            job = await queue.job(item_key(item_id))
            assert job is not None
            await runtime.engine.remove(job, "test")
        # A retry's backoff, in the database: the item must not run before it.
        due = utcnow() + timedelta(seconds=30)
        await _set(database, retried, available_at=due)
        await _set(database, held, status=JobItemStatus.PROCESSING, claimed_by="someone")

        ctx = cast(WorkerContext, {"myia": runtime})
        ctx["job"] = Job(TASK, kwargs={"item_id": retried}, status=Status.COMPLETE, result="retry")
        await _after_process(ctx)
        again = await queue.job(item_key(retried))
        assert again is not None and again.status is Status.QUEUED
        assert again.scheduled == math.ceil(due.timestamp())

        # Held by another worker: that worker settles it.
        assert not await runtime.follow_up(held, "skipped")
        ctx["job"] = Job(TASK, kwargs={"item_id": held}, status=Status.COMPLETE, result="COMPLETED")
        await _after_process(ctx)
        assert (await queue.job(item_key(held))).status is Status.ABORTED  # type: ignore[union-attr]
        # Refused though due: tried again a little later, never in a tight loop.
        await _set(database, held, status=JobItemStatus.QUEUED, claimed_by=None)
        assert await runtime.follow_up(held, "skipped")
        later = await queue.job(item_key(held))
        assert later is not None and later.scheduled >= utcnow().timestamp()
    finally:
        await runtime.engine.stop()
        await queue.disconnect()


async def _until_processing(database: Database, item_id: str) -> None:
    async with asyncio.timeout(10):
        while True:
            async with database.session() as session:
                item = await session.get(CertificationJobItem, item_id)
                if item is not None and item.status is JobItemStatus.PROCESSING:
                    return
            await asyncio.sleep(0.05)


async def test_a_cancelled_item_is_given_back_at_once(
    saq: Settings, database: Database, scenario: Scenario
) -> None:
    """A worker stopping (or SAQ aborting a job) must not leave the item PROCESSING under a
    live worker, where no orphan recovery would ever find it."""
    with running_simulator(scenario_with_latency(2000)) as slow:
        async with database.session() as session:
            await make_sim_catalog(session, scenario, slow.base_url, include_openai=False)
            _, (item_id, *_) = await jobs.create_job(
                session=session,
                selection=JobSelection(models=[SONNET], regions=["us-east-1"]),
                default_regions=[],
            )
        executor = Executor(database, saq, LocalLimiterPool(), "saq-test-worker")
        running = asyncio.create_task(executor.run(item_id))
        await _until_processing(database, item_id)
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
        await executor.aclose()
    async with database.session() as session:
        item = await session.get(CertificationJobItem, item_id)
    assert item is not None and item.status is JobItemStatus.QUEUED
    assert item.claimed_by is None
    assert item.available_at is not None and item.available_at <= utcnow()


async def test_a_result_for_a_cancelled_job_is_discarded_quietly(
    saq: Settings, database: Database, scenario: Scenario
) -> None:
    """The job was cancelled while its item ran: nothing is recorded, and the run ends with
    "discarded" rather than an error (which SAQ would log as a failed job)."""
    with running_simulator(scenario_with_latency(300)) as slow:
        async with database.session() as session:
            await make_sim_catalog(session, scenario, slow.base_url, include_openai=False)
            job, (item_id, *_) = await jobs.create_job(
                session=session,
                selection=JobSelection(models=[SONNET], regions=["us-east-1"]),
                default_regions=[],
            )
        executor = Executor(database, saq, LocalLimiterPool(), "saq-test-worker")
        running = asyncio.create_task(executor.run(item_id))
        await _until_processing(database, item_id)
        async with database.session() as session:
            await jobs.cancel_job(session=session, job_id=job.id)
        assert await asyncio.wait_for(running, 30) == "discarded"
        await executor.aclose()
    async with database.session() as session:
        assert (await session.execute(select(ModelCertification))).first() is None


def test_the_worker_command_refuses_to_start_without_queue_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("QUEUE_URL", raising=False)
    monkeypatch.setenv("MYIA_MODE", "test")
    reset_settings_cache()
    try:
        result = CliRunner().invoke(cli, ["worker"])
    finally:
        reset_settings_cache()
    assert result.exit_code == 1
    assert "needs QUEUE_URL" in result.output


async def test_workers_on_a_postgres_queue_share_rate_limits_through_redis_url(
    db_url: str, database: Database, redis_url: str, queue_name: str
) -> None:
    """A PostgreSQL queue has no Redis of its own: with REDIS_URL the limiter state is shared
    there (a throttle seen by one worker slows the other); without it each keeps its own."""
    pg_queue = "postgresql://postgres@127.0.0.1:1/unused"  # never connected here
    shared = saq_settings(db_url, pg_queue, queue_name, REDIS_URL=redis_url)
    first = WorkerRuntime(shared, database=database)
    second = WorkerRuntime(shared, database=database)
    alone = WorkerRuntime(saq_settings(db_url, pg_queue, queue_name), database=database)
    try:
        throttled = first.executor.limiters.get("bedrock", "us-east-1")
        other = second.executor.limiters.get("bedrock", "us-east-1")
        assert isinstance(throttled, RedisLimiter) and isinstance(other, RedisLimiter)
        await throttled.on_throttle(None)
        slowed = await throttled.rate()
        assert slowed < shared.rate_limit_rps
        assert await other.rate() == pytest.approx(slowed)
        assert isinstance(alone.executor.limiters, LocalLimiterPool)
    finally:
        for runtime in (first, second, alone):
            await runtime.stop()
        purge_queue(redis_url, queue_name)
