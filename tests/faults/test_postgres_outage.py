"""PostgreSQL stopped (`pg_ctl stop -m immediate`) for 15 s in the middle of a job on the
PostgreSQL queue, two workers and `myia serve` running: the job completes by itself once
PostgreSQL is back, with one certification per (deployment, region).

The defect: a worker whose give-back failed during the outage swallowed the error ("recovery
will do it later"), recovery only took items of workers that stopped beating, and the worker
never gave them back: items stayed PROCESSING under a live worker for good, and
`myia jobs sync` recovered none. A cluster of the test's own on another port: the shared
server is never stopped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from myia.db.engine import Database
from myia.db.migrate import upgrade
from myia.sim import running_simulator
from tests.factories import make_sim_catalog
from tests.faults.support import (
    ThrowawayPostgres,
    assert_one_row_per_pair,
    env_for,
    poll,
    processing,
    throwaway_postgres,
    wait_health,
    worker_ids,
)
from tests.queue.saq_support import (
    assert_settled,
    processes,
    saq_settings,
    scenario_with_latency,
    submit_through_queue,
    unique_queue_name,
    wait_until_done,
)
from tests.sim_support import free_port

pytestmark = [pytest.mark.usefixtures("sim_credentials"), pytest.mark.slow]
OUTAGE_S = 15


@pytest.fixture
def cluster() -> Iterator[ThrowawayPostgres]:
    with throwaway_postgres() as server:
        server.create_database("myia")
        server.create_database("myia_queue")
        upgrade(server.url("myia"))
        yield server


async def test_a_job_completes_by_itself_after_postgresql_comes_back(
    cluster: ThrowawayPostgres, tmp_path: Path
) -> None:
    db_url = cluster.url("myia")
    settings = saq_settings(db_url, cluster.url("myia_queue"), unique_queue_name())
    database = Database(db_url)
    port = free_port()
    health = f"http://127.0.0.1:{port}/api/health"
    env = env_for(
        DATABASE_URL=db_url,
        QUEUE_URL=settings.queue_url,
        QUEUE_NAME=settings.queue_name,
        WORKER_HEARTBEAT_S=1,
        RATE_LIMIT_RPS=50,
    )
    scenario = scenario_with_latency(200)  # items last long enough to be caught mid-run
    try:
        with running_simulator(scenario) as sim, processes(tmp_path) as children:
            async with database.session() as session:
                await make_sim_catalog(session, scenario, sim.base_url, include_openai=False)
            serve = children.start("serve", ["serve", "--port", str(port)], env)
            workers = [
                children.start(f"worker{n}", ["worker", "--concurrency", "3"], env)
                for n in range(2)
            ]
            await wait_health(health, 200, timeout_s=120, what="myia serve up")
            await worker_ids(database, 2, timeout_s=120)
            job_id = await submit_through_queue(database, settings)

            async def busy() -> bool:
                return await processing(database, job_id) >= 2

            await poll(busy, timeout_s=120, what="items running")
            cluster.stop("immediate")
            await wait_health(health, 503, timeout_s=30, what="health naming the database")
            await asyncio.sleep(OUTAGE_S)  # the outage itself, not a wait for a result
            cluster.start()
            await wait_health(health, 200, timeout_s=90, what="health after the restart")

            # No `myia jobs sync`: the workers alone finish the job.
            await wait_until_done(database, job_id, timeout_s=180)
            assert serve.poll() is None, children.log("serve")
            assert all(w.poll() is None for w in workers), children.log("worker0")
            await assert_settled(database, job_id)
            await assert_one_row_per_pair(database)
    finally:
        await database.dispose()
