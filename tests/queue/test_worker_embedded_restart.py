"""The embedded engine across a crash: `myia serve` killed with SIGKILL in the middle of a job
and started again finishes the job, with exactly one certification per (deployment, region),
on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from myia.certification.selection import JobSelection
from myia.db.engine import Database
from myia.db.enums import JobItemStatus
from myia.db.models import CertificationJob, CertificationJobItem, WorkerHeartbeat
from myia.queue.embedded import EmbeddedEngine
from myia.queue.ratelimit import LocalLimiterPool
from myia.queue.service import submit_job
from myia.sim import running_simulator
from tests.conftest import make_settings
from tests.factories import make_sim_catalog
from tests.queue.saq_support import (
    Processes,
    assert_settled,
    child_env,
    processes,
    scenario_with_latency,
    wait_until_done,
)
from tests.sim_support import free_port

pytestmark = pytest.mark.slow


def _serve(children: Processes, name: str, db_url: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = child_env(
        DATABASE_URL=db_url,
        QUEUE_WORKERS_ENABLED="true",
        QUEUE_CONCURRENCY=2,
        WORKER_HEARTBEAT_S=1,
        RATE_LIMIT_RPS=50,
    )
    return children.start(name, ["serve", "--port", str(port)], env), port


async def _serving(proc: subprocess.Popen[bytes], port: int, children: Processes) -> None:
    # Generous bounds: on a loaded machine a server may take long to start; never a timing.
    async with asyncio.timeout(120), httpx.AsyncClient() as client:
        while True:
            assert proc.poll() is None, children.log("first") + children.log("second")
            try:
                if (await client.get(f"http://127.0.0.1:{port}/api/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)


async def _worker_of(database: Database, proc: subprocess.Popen[bytes]) -> str:
    async with asyncio.timeout(60):
        while True:
            async with database.session() as session:
                found = (
                    await session.execute(
                        select(WorkerHeartbeat.id).where(WorkerHeartbeat.pid == proc.pid)
                    )
                ).scalar_one_or_none()
            if found:
                return found
            await asyncio.sleep(0.1)


async def test_a_job_survives_the_server_killed_and_restarted(
    db_url: str, database: Database, tmp_path: Path
) -> None:
    scenario = scenario_with_latency(150)
    settings = make_settings(DATABASE_URL=db_url)
    with running_simulator(scenario) as sim, processes(tmp_path) as children:
        async with database.session() as session:
            await make_sim_catalog(session, scenario, sim.base_url)
        first, port = _serve(children, "first", db_url)
        await _serving(first, port, children)
        first_id = await _worker_of(database, first)
        # Written to the database only: the server's dispatcher polls it (no workers here).
        producer = EmbeddedEngine(database, settings, LocalLimiterPool())
        async with database.session() as session:
            job = await submit_job(
                session=session,
                engine=producer,
                settings=settings,
                selection=JobSelection(all=True, regions=["us-east-1", "eu-west-1"]),
            )

        async with asyncio.timeout(180):
            while True:
                async with database.session() as session:
                    current = await session.get(CertificationJob, job.id)
                    held = list(
                        (
                            await session.execute(
                                select(CertificationJobItem.id).where(
                                    CertificationJobItem.status == JobItemStatus.PROCESSING,
                                    CertificationJobItem.claimed_by == first_id,
                                )
                            )
                        ).scalars()
                    )
                assert current is not None
                if held and current.processed_models >= 2:
                    break
                await asyncio.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        assert first.wait(timeout=10) == -signal.SIGKILL
        # What the first server really held when it died: an item seen held above may have
        # finished before the SIGKILL landed, so read the orphans after the kill.
        async with database.session() as session:
            orphans = list(
                (
                    await session.execute(
                        select(CertificationJobItem.id).where(
                            CertificationJobItem.job_id == job.id,
                            CertificationJobItem.status == JobItemStatus.PROCESSING,
                            CertificationJobItem.claimed_by == first_id,
                        )
                    )
                ).scalars()
            )

        second, port = _serve(children, "second", db_url)
        await _serving(second, port, children)
        second_id = await _worker_of(database, second)
        await wait_until_done(database, job.id, timeout_s=120)
        # The guarantee: no item lost (every one finished, the job completed) and none done
        # twice (one certification per item), whatever the kill interrupted...
        job_items = await assert_settled(database, job.id)
        # ...and what the dead server held was taken over by the new one.
        finished_by = {i.id: i.claimed_by for i in job_items}
        assert all(finished_by[item_id] == second_id for item_id in orphans), children.log("second")
