"""The SAQ engine as a producer: one keyed job per item, and `sync` rebuilding the queue from
the database (SAQ on the real Redis and on PostgreSQL, both databases; no worker runs here)."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from saq.job import Status
from saq.queue.postgres import PostgresQueue
from sqlalchemy import update

from myia.certification import jobs
from myia.certification.selection import JobSelection
from myia.config import Settings
from myia.db.engine import Database
from myia.db.enums import AuthType, JobItemStatus
from myia.db.models import CertificationJob, CertificationJobItem
from myia.db.types import utcnow
from myia.queue import heartbeat, items
from myia.queue.factory import build_engine
from myia.queue.saq_engine import (
    TASK,
    QueueUrlError,
    SaqEngine,
    item_key,
    make_queue,
)
from myia.queue.service import submit_job
from tests.conftest import make_settings
from tests.factories import make_base_model, make_deployment, make_provider
from tests.queue.saq_support import lose_job, saq_settings


@pytest.fixture
def saq(db_url: str, queue_url: str, queue_name: str) -> Settings:
    return saq_settings(db_url, queue_url, queue_name)


@pytest.fixture
async def engine(database: Database, saq: Settings) -> AsyncIterator[SaqEngine]:
    producer = SaqEngine(database, saq)
    await producer.start()
    yield producer
    await producer.stop()


async def _job(database: Database, engine: SaqEngine) -> tuple[CertificationJob, list[str]]:
    """Two Bedrock deployments × two regions: four items, enqueued."""
    async with database.session() as session:
        bedrock = await make_provider(session, slug="bedrock", auth_type=AuthType.AWS_CREDENTIALS)
        for _ in range(2):
            await make_deployment(
                session, base_model=await make_base_model(session), provider=bedrock
            )
        job = await submit_job(
            session=session,
            engine=engine,
            settings=engine.settings,
            selection=JobSelection(all=True, regions=["us-east-1", "eu-west-1"]),
        )
        ids = [i.id for i in await jobs.job_items(session=session, job_id=job.id)]
    return job, ids


async def _set(database: Database, item_id: str, **values: object) -> None:
    async with database.session() as session:
        await session.execute(
            update(CertificationJobItem).where(CertificationJobItem.id == item_id).values(**values)
        )
        await session.commit()


async def _sync(database: Database, engine: SaqEngine) -> dict[str, int]:
    async with database.session() as session:
        return await engine.sync(session)


async def test_one_keyed_job_per_item_never_two(database: Database, engine: SaqEngine) -> None:
    _, ids = await _job(database, engine)
    info = await engine.queue_info()
    assert (info["queued"], info["active"], info["scheduled"]) == (4, 0, 0)
    job = await engine.queue.job(item_key(ids[0]))
    assert job is not None
    assert (job.function, job.kwargs, job.status) == (TASK, {"item_id": ids[0]}, Status.QUEUED)
    assert job.timeout >= engine.settings.queue_item_timeout_s
    assert job.heartbeat > 0  # SAQ's sweeper can tell a dead worker's job
    assert job.retries == 1  # retries are the database's (QUEUE_MAX_RETRIES)

    await engine.enqueue(ids)  # a second submit, a resume, a sync racing the producer
    assert not await engine.schedule(ids[0])
    assert (await engine.queue_info())["queued"] == 4


async def test_an_item_not_yet_due_is_scheduled_for_then(
    database: Database, engine: SaqEngine
) -> None:
    _, ids = await _job(database, engine)
    job = await engine.queue.job(item_key(ids[0]))
    assert job is not None
    await engine.remove(job, "test")
    due = utcnow() + timedelta(seconds=60)
    await _set(database, ids[0], available_at=due)
    await engine.enqueue([ids[0]])
    job = await engine.queue.job(item_key(ids[0]))
    assert job is not None and job.scheduled == math.ceil(due.timestamp())
    info = await engine.queue_info()
    assert (info["queued"], info["scheduled"]) == (3, 1)


async def test_sync_requeues_what_the_queue_lost_and_drops_what_the_database_finished(
    database: Database, engine: SaqEngine
) -> None:
    _, ids = await _job(database, engine)
    lost, finished = ids[0], ids[1]
    # The queue lost one job outright (a Redis flush, a failover without persistence)…
    queue = engine.queue
    await lose_job(queue, item_key(lost))
    # …and the database finished another item behind the queue's back.
    await _set(database, finished, status=JobItemStatus.COMPLETED)

    # The finished item's job is recounted too (its counters were left behind).
    assert await _sync(database, engine) == {
        "requeued": 1, "dropped": 1, "recovered": 0, "recounted": 1,
    }  # fmt: skip
    again = await queue.job(item_key(lost))
    assert again is not None and again.status is Status.QUEUED
    dropped = await queue.job(item_key(finished))
    assert dropped is not None and dropped.status is Status.ABORTED
    assert (await engine.queue_info())["queued"] == 3
    # Idempotent: nothing left to do.
    assert await _sync(database, engine) == {
        "requeued": 0,
        "dropped": 0,
        "recovered": 0,
        "recounted": 0,
    }


async def test_sync_recovers_a_dead_workers_items_and_leaves_live_ones_alone(
    database: Database, engine: SaqEngine
) -> None:
    await _job(database, engine)
    queue = engine.queue
    held = {}
    for worker_id in ("saq-dead-1", "saq-alive-1"):
        job = await queue.dequeue(timeout=10)  # returns as soon as a job is there
        assert job is not None and job.kwargs is not None
        job.worker_id = worker_id
        await job.update(status=Status.ACTIVE)
        item_id = job.kwargs["item_id"]
        async with database.session() as session:
            assert await items.claim(session, item_id, worker_id)
        await _set(database, item_id, claimed_at=utcnow() - timedelta(minutes=5))
        held[worker_id] = item_id
    await heartbeat.beat(database, "saq-alive-1", engine="saq")  # the dead one never beats

    assert await _sync(database, engine) == {
        "requeued": 0,
        "dropped": 0,
        "recovered": 1,
        "recounted": 0,
    }
    async with database.session() as session:
        dead_item = await session.get(CertificationJobItem, held["saq-dead-1"])
        live_item = await session.get(CertificationJobItem, held["saq-alive-1"])
    assert dead_item is not None and dead_item.status is JobItemStatus.QUEUED
    assert live_item is not None and live_item.status is JobItemStatus.PROCESSING
    requeued = await queue.job(item_key(held["saq-dead-1"]))
    assert requeued is not None and requeued.status is Status.QUEUED
    running = await queue.job(item_key(held["saq-alive-1"]))
    assert running is not None and running.status is Status.ACTIVE
    info = await engine.queue_info()
    assert (info["queued"], info["active"]) == (3, 1)


async def test_sync_keeps_a_paused_jobs_items_and_drops_a_cancelled_ones(
    database: Database, engine: SaqEngine
) -> None:
    job, _ = await _job(database, engine)
    async with database.session() as session:
        await jobs.pause_job(session=session, job_id=job.id)
    # Paused items stay on the queue: a worker skips them, resume queues them again.
    assert await _sync(database, engine) == {
        "requeued": 0,
        "dropped": 0,
        "recovered": 0,
        "recounted": 0,
    }
    async with database.session() as session:
        await jobs.cancel_job(session=session, job_id=job.id)
    assert await _sync(database, engine) == {
        "requeued": 0,
        "dropped": 4,
        "recovered": 0,
        "recounted": 0,
    }
    assert (await engine.queue_info())["queued"] == 0


async def test_health_reports_the_queue_and_a_dead_backend(
    database: Database, engine: SaqEngine, db_url: str, queue_url: str, queue_name: str
) -> None:
    await _job(database, engine)
    health = await engine.health()
    assert health["status"] == "up" and health["engine"] == "saq"
    assert (health["queue"], health["queued"], health["workers"]) == (queue_name, 4, 0)
    # Nothing listens on port 1: what an operator sees when Redis or PostgreSQL is down.
    dead = urlsplit(queue_url)._replace(netloc="127.0.0.1:1").geturl()
    down = SaqEngine(database, saq_settings(db_url, dead, queue_name))
    try:
        assert (await down.health())["status"] == "down"
    finally:
        await down.stop()


def test_build_engine_picks_saq_when_queue_url_is_set() -> None:
    settings = make_settings(QUEUE_URL="redis://127.0.0.1:6379/0")
    assert isinstance(build_engine(Database("sqlite+aiosqlite:///:memory:"), settings), SaqEngine)


def test_queue_url_is_checked_with_a_clear_message() -> None:
    with pytest.raises(QueueUrlError, match="QUEUE_URL is not set"):
        make_queue(make_settings())
    with pytest.raises(QueueUrlError) as caught:
        make_queue(make_settings(QUEUE_URL="amqp://user:hunter2@127.0.0.1/"))
    assert "amqp://" in str(caught.value) and "hunter2" not in str(caught.value)
    assert make_queue(make_settings(QUEUE_URL="redis://127.0.0.1:6379/0")).name == (
        "myia-certification"
    )


def test_a_postgres_queue_url_makes_saqs_postgres_queue() -> None:
    queue = make_queue(make_settings(QUEUE_URL="postgresql+asyncpg://postgres@127.0.0.1/myia"))
    assert isinstance(queue, PostgresQueue) and queue.name == "myia-certification"
    # psycopg is given the URL without SQLAlchemy's driver suffix.
    assert queue.pool.conninfo == "postgresql://postgres@127.0.0.1/myia"
