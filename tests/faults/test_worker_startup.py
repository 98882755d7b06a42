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
from pathlib import Path

import pytest
from sqlalchemy import select

from myia.certification.selection import JobSelection
from myia.config import Settings
from myia.db.engine import Database
from myia.db.enums import JobItemStatus
from myia.db.models import CertificationJobItem, WorkerHeartbeat
from myia.sim import running_simulator
from tests.factories import make_sim_catalog
from tests.faults.support import assert_one_row_per_pair, env_for, poll, wait_health
from tests.queue.saq_support import (
    assert_settled,
    processes,
    saq_settings,
    scenario_with_latency,
    submit_through_queue,
    unique_queue_name,
    wait_until_done,
)
from tests.sim_support import ROOT, free_port

pytestmark = [
    pytest.mark.usefixtures("sim_credentials"),
    pytest.mark.slow,
    pytest.mark.parametrize("db_url", ["postgresql"], indirect=True),
]
# Long enough that `myia jobs sync` runs well inside it: recovery by the heartbeat window
# (3 beats) cannot be what the test sees.
HEARTBEAT_S = 20


def _env(settings: Settings, **extra: object) -> dict[str, str]:
    return env_for(
        DATABASE_URL=settings.database_url,
        QUEUE_URL=settings.queue_url,
        QUEUE_NAME=settings.queue_name,
        RATE_LIMIT_RPS=50,
        **extra,
    )


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
        job_id = await submit_through_queue(
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
        job_id = await submit_through_queue(
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
