"""Workers started at once on a new PostgreSQL queue all run; a SIGKILLed worker's items are
back on the queue as soon as `myia jobs sync` runs.

The defects: SAQ's `init_db` returns at once when another process holds its migration lock —
while that process may still be creating the tables — so one of three workers started
together exited with `relation "saq_jobs" does not exist`. And a killed worker's items waited
for the heartbeat window (15–25 s) even with `myia jobs sync`, although a worker on the same
machine whose process is gone is known dead at once.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from myia.certification.selection import JobSelection
from myia.config import Settings
from myia.db.engine import Database
from myia.db.enums import JobItemStatus
from myia.db.models import CertificationJobItem, WorkerHeartbeat
from myia.queue.saq_engine import SaqEngine
from myia.queue.service import submit_job
from myia.sim import running_simulator
from tests.conftest import _pg_admin, _pg_url, _run, require
from tests.factories import SIM_AWS_ENV, make_sim_catalog
from tests.faults.support import assert_one_row_per_pair, env_for, poll, wait_health
from tests.queue.saq_support import (
    ROOT,
    assert_settled,
    free_port,
    processes,
    saq_settings,
    scenario_with_latency,
    unique_queue_name,
    wait_until_done,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.parametrize("db_url", ["postgresql"], indirect=True),
]
# Long enough that `myia jobs sync` runs well inside it: recovery by the heartbeat window
# (3 beats) cannot be what the test sees.
HEARTBEAT_S = 20


@pytest.fixture
def queue_db(pg_available: bool) -> Iterator[str]:
    """A new, empty PostgreSQL database for SAQ's tables."""
    require("PostgreSQL", pg_available)
    name = f"myia_q_{uuid.uuid4().hex[:12]}"
    _run(_pg_admin(f'CREATE DATABASE "{name}"'))
    yield _pg_url(name)
    _run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(autouse=True)
def _sim_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SIM_AWS_ENV.items():
        monkeypatch.setenv(name, value)


def _env(settings: Settings, **extra: object) -> dict[str, str]:
    return env_for(
        DATABASE_URL=settings.database_url,
        QUEUE_URL=settings.queue_url,
        QUEUE_NAME=settings.queue_name,
        RATE_LIMIT_RPS=50,
        **extra,
    )


async def _submit(database: Database, settings: Settings, selection: JobSelection) -> str:
    producer = SaqEngine(database, settings)
    try:
        async with database.session() as session:
            job = await submit_job(
                session=session, engine=producer, settings=settings, selection=selection
            )
        return job.id
    finally:
        await producer.stop()


async def test_three_workers_started_at_once_on_a_new_queue_all_run(
    db_url: str, database: Database, queue_db: str, tmp_path: Path
) -> None:
    settings = saq_settings(db_url, queue_db, unique_queue_name())
    ports = [free_port() for _ in range(3)]
    scenario = scenario_with_latency(0)
    with running_simulator(scenario) as sim, processes(tmp_path) as children:
        async with database.session() as session:
            await make_sim_catalog(session, scenario, sim.base_url, include_openai=False)
        env = _env(settings, WORKER_HEARTBEAT_S=1)
        workers = [
            children.start(f"worker{n}", ["worker", "--health-port", str(port)], env)
            for n, port in enumerate(ports)
        ]
        for n, port in enumerate(ports):
            health = f"http://127.0.0.1:{port}/health"
            try:
                await wait_health(health, 200, timeout_s=90, what=f"worker{n} healthy")
            except AssertionError:
                raise AssertionError(children.log(f"worker{n}")) from None
        job_id = await _submit(
            database, settings, JobSelection(all=True, regions=["us-east-1", "eu-west-1"])
        )
        await wait_until_done(database, job_id, timeout_s=120)
        assert all(w.poll() is None for w in workers), [
            children.log(f"worker{n}") for n in range(3)
        ]
        await assert_settled(database, job_id)
        await assert_one_row_per_pair(database)


async def test_jobs_sync_recovers_a_killed_workers_items_at_once(
    db_url: str, database: Database, queue_db: str, tmp_path: Path
) -> None:
    settings = saq_settings(db_url, queue_db, unique_queue_name(), WORKER_HEARTBEAT_S=HEARTBEAT_S)
    scenario = scenario_with_latency(300)
    with running_simulator(scenario) as sim, processes(tmp_path) as children:
        async with database.session() as session:
            await make_sim_catalog(session, scenario, sim.base_url, include_openai=False)
        env = _env(settings, WORKER_HEARTBEAT_S=HEARTBEAT_S)
        victim = children.start("victim", ["worker", "--concurrency", "2"], env)
        job_id = await _submit(
            database, settings, JobSelection(all=True, regions=["us-east-1", "eu-west-1"])
        )

        async def held() -> list[str]:
            async with database.session() as session:
                return list(
                    (
                        await session.execute(
                            select(CertificationJobItem.id).where(
                                CertificationJobItem.job_id == job_id,
                                CertificationJobItem.status == JobItemStatus.PROCESSING,
                            )
                        )
                    ).scalars()
                )

        await poll(held, timeout_s=60, what="the victim running items")
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        stranded = await held()
        assert stranded

        sync = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "myia.cli.main", "jobs", "sync"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert sync.returncode == 0, sync.stdout + sync.stderr
        # At once: nothing PROCESSING right after the sync, the dead worker forgotten.
        assert not await held(), sync.stdout
        async with database.session() as session:
            assert not list((await session.execute(select(WorkerHeartbeat.id))).scalars())

        port = free_port()
        children.start("next", ["worker", "--health-port", str(port)], env)
        await wait_health(f"http://127.0.0.1:{port}/health", 200, timeout_s=60, what="worker")
        await wait_until_done(database, job_id, timeout_s=120)
        await assert_settled(database, job_id)
        await assert_one_row_per_pair(database)
