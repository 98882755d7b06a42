"""Helpers for the SAQ engine and worker tests: one SAQ queue per test, the simulator with
latency, subprocesses that are always killed, and the end-of-job invariants."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import redis
import yaml
from psycopg.sql import SQL
from saq import Queue
from saq.queue.postgres import PostgresQueue
from saq.queue.redis import RedisQueue
from sqlalchemy import func, select

from myia.certification.selection import JobSelection
from myia.config import Settings
from myia.db.engine import Database
from myia.db.enums import JobItemStatus, JobStatus
from myia.db.models import CertificationJob, CertificationJobItem, ModelCertification
from myia.queue.saq_engine import SaqEngine
from myia.queue.service import submit_job
from myia.queue.worker import MyiaWorker, WorkerRuntime
from myia.sim import Scenario
from tests.conftest import make_settings
from tests.factories import SIM_AWS_ENV
from tests.sim_support import ROOT, SCENARIOS


def unique_queue_name() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


def purge_queue(redis_url: str, name: str) -> None:
    """Delete every key of one test queue (jobs, lists, stats, locks, rate limits)."""
    client = redis.Redis.from_url(redis_url)
    try:
        for pattern in (f"saq:{name}:*", f"saq:job:{name}:*", f"myia:ratelimit:{name}:*"):
            keys = list(client.scan_iter(match=pattern, count=500))
            if keys:
                client.delete(*keys)
    finally:
        client.close()


async def lose_job(queue: Queue, key: str) -> None:
    """Make the queue forget one job entirely, as a Redis flush or failover would."""
    job_id = queue.job_id(key)
    if isinstance(queue, RedisQueue):
        await queue.redis.delete(job_id)
        await queue.redis.lrem(queue.namespace("queued"), 0, job_id)
        await queue.redis.zrem(queue.namespace("incomplete"), job_id)
        return
    assert isinstance(queue, PostgresQueue)
    async with queue.pool.connection() as connection:
        await connection.execute(
            SQL("DELETE FROM {} WHERE key = %s").format(queue.jobs_table), (job_id,)
        )


def saq_settings(db_url: str, queue_url: str, queue_name: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "DATABASE_URL": db_url,
        "QUEUE_URL": queue_url,
        "QUEUE_NAME": queue_name,
        "WORKER_HEARTBEAT_S": 1,
        "RATE_LIMIT_RPS": 50,
    }
    values.update(overrides)
    return make_settings(**values)


def scenario_with_latency(latency_ms: float, name: str = "test-basic.yaml") -> Scenario:
    """A scenario file with every call slowed down, so a job lasts long enough to be
    interrupted."""
    data = yaml.safe_load((SCENARIOS / name).read_text(encoding="utf-8"))
    data.setdefault("defaults", {})["latency"] = latency_ms
    return Scenario.model_validate(data)


EVERY_PAIR = JobSelection(all=True, regions=["us-east-1", "eu-west-1"])


async def submit_through_queue(
    database: Database, settings: Settings, selection: JobSelection = EVERY_PAIR
) -> str:
    """Submit a job as `myia serve` does with this QUEUE_URL (a producer of its own, stopped
    after); the job's id."""
    producer = SaqEngine(database, settings)
    try:
        async with database.session() as session:
            job = await submit_job(
                session=session, engine=producer, settings=settings, selection=selection
            )
        return job.id
    finally:
        await producer.stop()


async def wait_until_done(
    database: Database, job_id: str, timeout_s: float, poll_s: float = 0.2
) -> CertificationJob:
    """The job once it is no longer queued or processing."""
    async with asyncio.timeout(timeout_s):
        while True:
            async with database.session() as session:
                job = await session.get(CertificationJob, job_id)
                assert job is not None
                if job.status not in (JobStatus.QUEUED, JobStatus.PROCESSING):
                    return job
            await asyncio.sleep(poll_s)


async def assert_settled(database: Database, job_id: str) -> list[CertificationJobItem]:
    """What a finished job must look like whatever crashed on the way: completed, one
    certification row per (deployment, region), counters adding up, nothing open."""
    async with database.session() as session:
        job = await session.get(CertificationJob, job_id)
        assert job is not None
        found = (
            await session.execute(
                select(CertificationJobItem).where(CertificationJobItem.job_id == job_id)
            )
        ).scalars()
        job_items = list(found)
        certifications = list((await session.execute(select(ModelCertification))).scalars())
        open_items = (
            await session.execute(
                select(func.count()).where(
                    CertificationJobItem.status.in_(
                        (JobItemStatus.QUEUED, JobItemStatus.PROCESSING)
                    )
                )
            )
        ).scalar_one()
    assert job.status is JobStatus.COMPLETED
    assert open_items == 0
    assert job.total_models == len(job_items)
    assert job.processed_models == job.success_count + job.failure_count == job.total_models
    pairs = {(i.deployment_id, i.region) for i in job_items}
    assert len(pairs) == len(job_items)
    assert sorted((c.deployment_id, c.region) for c in certifications) == sorted(pairs)
    assert all(c.job_id == job_id for c in certifications)
    # Each item recorded exactly one certification, and each row belongs to one item.
    linked = [i.certification_id for i in job_items]
    assert None not in linked
    assert sorted(linked) == sorted(c.id for c in certifications)  # type: ignore[type-var]
    return job_items


@asynccontextmanager
async def running_worker(settings: Settings, database: Database) -> AsyncIterator[MyiaWorker]:
    runtime = WorkerRuntime(settings, database=database, concurrency=3, health_port=0)
    worker = MyiaWorker(runtime, handle_signals=False)
    serving = asyncio.create_task(worker.serve())
    try:
        async with asyncio.timeout(10):
            while runtime.last_beat is None:
                if serving.done():
                    await serving  # raises what stopped it
                await asyncio.sleep(0.05)
        yield worker
    finally:
        await worker.stop()
        async with asyncio.timeout(30):
            await serving


# --- subprocesses ------------------------------------------------------------------------
def child_env(**values: Any) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QUEUE_", "WORKER_"))}
    env.update(SIM_AWS_ENV)
    env.update(
        MYIA_MODE="test",
        LOG_TO_DB="false",
        LOG_LEVEL="INFO",
        AWS_EC2_METADATA_DISABLED="true",
        PYTHONUNBUFFERED="1",
        QUEUE_RETRY_BACKOFF_S="1",  # the simulator's flaky answers are retried sooner
    )
    env.update({k: str(v) for k, v in values.items()})
    return env


class Processes:
    """Started children, each logging to a file; all are killed on exit, whatever happens."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "myia.cli.main", *args],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.started.append(proc)
        return proc

    def log(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def kill_all(self) -> None:
        for proc in self.started:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
        for proc in self.started:
            proc.wait(timeout=10)


@contextmanager
def processes(log_dir: Path) -> Iterator[Processes]:
    children = Processes(log_dir)
    try:
        yield children
    finally:
        children.kill_all()


async def wait_exit(proc: subprocess.Popen[bytes], timeout_s: float) -> int | None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return proc.returncode
        await asyncio.sleep(0.05)
    return None
