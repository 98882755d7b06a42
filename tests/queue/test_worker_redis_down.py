"""Seed 004's "Redis desconectado": with Redis gone a worker says so on its health endpoint
without spinning a CPU, and once Redis is back (empty: nothing persisted) the work submitted
meanwhile is queued again from the database and done."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
import redis

from myia.certification.jobs import list_jobs
from myia.certification.selection import JobSelection
from myia.db.engine import Database
from myia.queue.saq_engine import SaqEngine
from myia.queue.service import submit_job
from myia.sim import load_scenario, running_simulator
from tests.factories import make_sim_catalog
from tests.queue.saq_support import (
    assert_settled,
    running_worker,
    saq_settings,
    unique_queue_name,
    wait_until_done,
)
from tests.sim_support import SCENARIOS, PrivateRedis

pytestmark = [
    pytest.mark.usefixtures("sim_credentials"),
    pytest.mark.slow,
    pytest.mark.parametrize("db_url", ["postgresql"], indirect=True),
]
SONNET = "anthropic.claude-3-5-sonnet-20241022-v2:0"


async def test_a_worker_rides_out_redis_going_away(
    db_url: str, database: Database, private_redis: PrivateRedis
) -> None:
    settings = saq_settings(db_url, private_redis.url, unique_queue_name())
    scenario = load_scenario(SCENARIOS / "test-basic.yaml")
    with running_simulator(scenario) as sim:
        async with database.session() as session:
            await make_sim_catalog(session, scenario, sim.base_url, include_openai=False)
        async with running_worker(settings, database) as worker, httpx.AsyncClient() as client:
            assert worker.runtime.health is not None
            health = f"http://127.0.0.1:{worker.runtime.health.port}/health"
            assert (await client.get(health)).status_code == 200

            private_redis.kill()
            cpu = time.process_time()
            await asyncio.sleep(2.0)
            # Three dequeue loops retrying at once would burn about two CPU seconds here.
            assert time.process_time() - cpu < 0.3  # measured: ~0.05 with the pause, ~0.9 without
            down = await client.get(health)
            assert down.status_code == 503
            assert down.json()["queue_reachable"] is False

            # Submitted while Redis is down: in the database only.
            producer = SaqEngine(database, settings)
            async with database.session() as session:
                with pytest.raises(redis.ConnectionError):
                    await submit_job(
                        session=session,
                        engine=producer,
                        settings=settings,
                        selection=JobSelection(models=[SONNET], regions=["us-east-1"]),
                    )
            await producer.stop()
            private_redis.start()  # same port, empty
            async with database.session() as session:
                (job,) = await list_jobs(session=session)
            await wait_until_done(database, job.id, timeout_s=60)
            assert (await client.get(health)).status_code == 200
    await assert_settled(database, job.id)
