"""Redis killed and restarted in the middle of a job, `QUEUE_MAX_RETRIES=0`: no item is
charged an attempt for the outage and no certification is recorded as FAILED because of it.

The queue is SAQ on PostgreSQL; Redis holds the shared rate limits of the workers (REDIS_URL)
and carries `myia serve`'s cache invalidations. The defect: a Redis error raised by the rate
limiter reached the executor as if the model had failed — with no retry allowed, every item
in flight became a FAILED certification ("UNKNOWN: Error 111 connecting to …").
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from myia.certification.selection import JobSelection
from myia.db.engine import Database
from myia.db.models import CertificationJobItem, ModelCertification
from myia.queue.saq_engine import SaqEngine
from myia.queue.service import submit_job
from myia.sim import running_simulator
from tests.factories import make_sim_catalog
from tests.faults.support import (
    assert_one_row_per_pair,
    env_for,
    poll,
    processing,
    wait_health,
    worker_ids,
)
from tests.queue.saq_support import (
    assert_settled,
    processes,
    saq_settings,
    scenario_with_latency,
    unique_queue_name,
    wait_until_done,
)
from tests.sim_support import PrivateRedis, free_port

pytestmark = [
    pytest.mark.usefixtures("sim_credentials"),
    pytest.mark.slow,
    pytest.mark.parametrize("db_url", ["postgresql"], indirect=True),
]
OUTAGE_S = 6


async def test_a_redis_outage_charges_no_attempt_and_fails_no_model(
    db_url: str, database: Database, queue_db: str, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    settings = saq_settings(db_url, queue_db, unique_queue_name(), QUEUE_MAX_RETRIES=0)
    port = free_port()
    health = f"http://127.0.0.1:{port}/api/health"
    env = env_for(
        DATABASE_URL=db_url,
        QUEUE_URL=queue_db,
        QUEUE_NAME=settings.queue_name,
        REDIS_URL=private_redis.url,
        QUEUE_MAX_RETRIES=0,
        WORKER_HEARTBEAT_S=2,  # a beat late by a few seconds on a busy machine is no death
        RATE_LIMIT_RPS=50,
    )
    scenario = scenario_with_latency(150)
    with running_simulator(scenario) as sim, processes(tmp_path) as children:
        async with database.session() as session:
            await make_sim_catalog(session, scenario, sim.base_url, include_openai=False)
        serve = children.start("serve", ["serve", "--port", str(port)], env)
        workers = [
            children.start(f"worker{n}", ["worker", "--concurrency", "3"], env) for n in range(2)
        ]
        await wait_health(health, 200, timeout_s=120, what="myia serve up")
        await worker_ids(database, 2, timeout_s=120)
        producer = SaqEngine(database, settings)
        try:
            async with database.session() as session:
                job = await submit_job(
                    session=session,
                    engine=producer,
                    settings=settings,
                    selection=JobSelection(all=True, regions=["us-east-1", "eu-west-1"]),
                )
        finally:
            await producer.stop()

        async def busy() -> bool:
            return await processing(database, job.id) >= 2

        await poll(busy, timeout_s=120, what="items running")
        private_redis.kill()
        await wait_health(health, 503, timeout_s=30, what="health naming Redis")
        await asyncio.sleep(OUTAGE_S)  # the outage itself
        private_redis.start()  # same port, empty
        await wait_health(health, 200, timeout_s=90, what="health after Redis is back")

        await wait_until_done(database, job.id, timeout_s=180)
        assert serve.poll() is None, children.log("serve")
        assert all(w.poll() is None for w in workers), children.log("worker0")
        job_items = await assert_settled(database, job.id)
        await assert_one_row_per_pair(database)
        async with database.session() as session:
            errors = [
                (c.deployment_id, c.region, c.status.value, c.error_message)
                for c in (await session.execute(select(ModelCertification))).scalars()
            ]
            attempts = {
                i.id: (i.attempts, i.error)
                for i in (
                    await session.execute(
                        select(CertificationJobItem).where(CertificationJobItem.job_id == job.id)
                    )
                ).scalars()
            }
    # No retry allowed, and none needed: each item ran once as far as its attempts go.
    assert {a for a, _ in attempts.values()} == {1}, attempts
    assert not [i for i in job_items if i.outcome == "UNKNOWN"], errors
    assert not [e for e in errors if "connect" in str(e[3]).lower()], errors
