"""A verdict recorded by a worker drops the routes and badges every server caches, at once
(through Redis), instead of leaving the gateway to route on the old one until the TTL."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from myia.catalog.cache import BASE_MODELS, DEPLOYMENTS, CatalogCache, RedisInvalidationBus
from myia.certification import jobs
from myia.certification.selection import JobSelection
from myia.db.engine import Database
from myia.queue.execute import Executor
from myia.queue.factory import limiter_config
from myia.queue.ratelimit import LocalLimiterPool
from myia.sim import Scenario, SimServer
from tests.conftest import make_settings
from tests.factories import make_sim_catalog

SONNET = "anthropic.claude-3-5-sonnet-20241022-v2:0"


pytestmark = pytest.mark.usefixtures("sim_credentials")


async def test_a_recorded_verdict_drops_the_servers_cached_routes(
    db_url: str, database: Database, redis_url: str, sim: SimServer, scenario: Scenario
) -> None:
    channel = f"myia:test:invalidate:{uuid.uuid4().hex}"  # not another test's servers
    server = CatalogCache(ttl_s=600, bus=RedisInvalidationBus(redis_url, channel))
    worker = CatalogCache(ttl_s=0, bus=RedisInvalidationBus(redis_url, channel))
    await server.start()
    await worker.start()
    settings = make_settings(DATABASE_URL=db_url)
    executor = Executor(
        database,
        settings,
        LocalLimiterPool(limiter_config(settings)),
        "w-verdict",
        catalog_cache=worker,
    )
    try:
        async with database.session() as session:
            await make_sim_catalog(session, scenario, sim.base_url, include_openai=False)
            _, (item_id, *_) = await jobs.create_job(
                session=session,
                selection=JobSelection(models=[SONNET], regions=["us-east-1"]),
                default_regions=[],
            )

        async def routes() -> str:
            return "routes as they were before the verdict"

        for namespace in (DEPLOYMENTS, BASE_MODELS):
            await server.get_or_load(namespace, "table", routes)
            assert server.peek(namespace, "table")

        assert await executor.run(item_id) == "COMPLETED"

        deadline = asyncio.get_running_loop().time() + 30
        while server.peek(DEPLOYMENTS, "table") or server.peek(BASE_MODELS, "table"):
            assert asyncio.get_running_loop().time() < deadline, "the server kept old routes"
            await asyncio.sleep(0.05)
    finally:
        await executor.aclose()
        await worker.stop()
        await server.stop()
