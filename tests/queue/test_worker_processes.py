"""Real `myia worker` processes on one PostgreSQL database and one queue (SAQ on Redis, then
SAQ on PostgreSQL): one is killed
with SIGKILL in the middle of a job and the job still ends complete, with exactly one
certification per (deployment, region); SIGTERM lets a worker finish what it holds."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from myia.certification.selection import JobSelection
from myia.config import Settings
from myia.db.engine import Database
from myia.db.enums import JobItemStatus
from myia.db.models import CertificationJob, CertificationJobItem, WorkerHeartbeat
from myia.db.types import utcnow
from myia.queue.saq_engine import SaqEngine
from myia.sim import running_simulator
from tests.factories import make_sim_catalog
from tests.queue.saq_support import (
    Processes,
    assert_settled,
    child_env,
    processes,
    saq_settings,
    scenario_with_latency,
    submit_through_queue,
    wait_exit,
    wait_until_done,
)
from tests.sim_support import free_port

pytestmark = [
    pytest.mark.slow,
    # Two processes on one database: PostgreSQL, what a distributed deployment runs on.
    pytest.mark.parametrize("db_url", ["postgresql"], indirect=True),
]
SONNET = "anthropic.claude-3-5-sonnet-20241022-v2:0"


@pytest.fixture
def saq(db_url: str, queue_url: str, queue_name: str) -> Settings:
    return saq_settings(db_url, queue_url, queue_name)


def _env(settings: Settings, **extra: object) -> dict[str, str]:
    return child_env(
        DATABASE_URL=settings.database_url,
        QUEUE_URL=settings.queue_url,
        QUEUE_NAME=settings.queue_name,
        WORKER_HEARTBEAT_S=1,
        RATE_LIMIT_RPS=50,
        **extra,
    )


async def _worker_id(database: Database, proc: subprocess.Popen[bytes], children: Processes) -> str:
    """The id a worker process beats under (its pid is in the heartbeat row)."""
    async with asyncio.timeout(30):
        while True:
            assert proc.poll() is None, children.log("worker")
            async with database.session() as session:
                found = (
                    await session.execute(
                        select(WorkerHeartbeat.id).where(WorkerHeartbeat.pid == proc.pid)
                    )
                ).scalar_one_or_none()
            if found:
                return found
            await asyncio.sleep(0.1)


async def _held_by(database: Database, job_id: str, worker_id: str) -> list[str]:
    async with database.session() as session:
        rows = await session.execute(
            select(CertificationJobItem.id).where(
                CertificationJobItem.job_id == job_id,
                CertificationJobItem.status == JobItemStatus.PROCESSING,
                CertificationJobItem.claimed_by == worker_id,
            )
        )
        return list(rows.scalars())


async def _processed(database: Database, job_id: str) -> int:
    async with database.session() as session:
        job = await session.get(CertificationJob, job_id)
        assert job is not None
        return job.processed_models


async def test_a_job_survives_a_worker_killed_in_the_middle(
    saq: Settings, database: Database, tmp_path: Path
) -> None:
    scenario = scenario_with_latency(150)
    health_port = free_port()
    with running_simulator(scenario) as sim, processes(tmp_path) as children:
        async with database.session() as session:
            await make_sim_catalog(session, scenario, sim.base_url)
        victim = children.start("victim", ["worker", "--concurrency", "2"], _env(saq))
        survivor = children.start(
            "survivor",
            ["worker", "--concurrency", "2", "--health-port", str(health_port)],
            _env(saq),
        )
        victim_id = await _worker_id(database, victim, children)
        survivor_id = await _worker_id(database, survivor, children)
        job_id = await submit_through_queue(
            database, saq, JobSelection(all=True, regions=["us-east-1", "eu-west-1"])
        )

        # Kill the victim once some items are done and while it holds others.
        async with asyncio.timeout(60):
            while True:
                held = await _held_by(database, job_id, victim_id)
                if held and await _processed(database, job_id) >= 2:
                    break
                await asyncio.sleep(0.05)
        victim.send_signal(signal.SIGKILL)
        killed_at = utcnow()
        async with httpx.AsyncClient() as client:
            health = (await client.get(f"http://127.0.0.1:{health_port}/health")).json()

        await wait_until_done(database, job_id, timeout_s=120)
        job_items = await assert_settled(database, job_id)
        # What the victim held was recovered and finished by the survivor (unless the victim
        # finished it between the snapshot and the signal).
        finished_by = {i.id: (i.claimed_by, i.finished_at) for i in job_items}
        for item_id in held:
            by, at = finished_by[item_id]
            assert by == survivor_id or (by == victim_id and at and at <= killed_at), children.log(
                "survivor"
            )
        # The queue is clean too: the victim's running jobs were taken off it.
        engine = SaqEngine(database, saq)
        try:
            async with asyncio.timeout(20):
                while True:
                    info = await engine.queue_info()
                    if not (info["active"] or info["queued"]):
                        break
                    await asyncio.sleep(0.2)
        finally:
            await engine.stop()
        assert survivor.poll() is None
    assert health["status"] == "healthy" and health["worker"] == "running"
    assert health["worker_id"] == survivor_id


async def test_sigterm_lets_the_running_item_finish_and_takes_no_more(
    saq: Settings, database: Database, tmp_path: Path
) -> None:
    scenario = scenario_with_latency(300)
    with running_simulator(scenario) as sim, processes(tmp_path) as children:
        async with database.session() as session:
            await make_sim_catalog(session, scenario, sim.base_url, include_openai=False)
        worker = children.start("worker", ["worker", "--concurrency", "1"], _env(saq))
        worker_id = await _worker_id(database, worker, children)
        job_id = await submit_through_queue(
            database, saq, JobSelection(models=[SONNET], regions=["us-east-1", "eu-west-1"])
        )
        async with asyncio.timeout(30):
            while True:
                held = await _held_by(database, job_id, worker_id)
                if held:
                    break
                await asyncio.sleep(0.05)

        worker.send_signal(signal.SIGTERM)
        assert await wait_exit(worker, timeout_s=30) == 0, children.log("worker")
        async with database.session() as session:
            states = {
                i.id: i.status
                for i in (
                    await session.execute(
                        select(CertificationJobItem).where(CertificationJobItem.job_id == job_id)
                    )
                ).scalars()
            }
            assert await session.get(WorkerHeartbeat, worker_id) is None
        assert states.pop(held[0]) in (JobItemStatus.COMPLETED, JobItemStatus.FAILED)
        assert list(states.values()) == [JobItemStatus.QUEUED]

        # The next worker picks up where it stopped.
        children.start("next", ["worker"], _env(saq))
        await wait_until_done(database, job_id, timeout_s=60)
        await assert_settled(database, job_id)
