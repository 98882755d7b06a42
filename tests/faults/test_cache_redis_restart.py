"""Two `myia serve` sharing PostgreSQL and Redis; Redis is restarted; then a catalog write on
one server is visible on the other within 5 s, not after the 60 s cache expiry.

The defect: the cache's pub/sub client had no retry and dropped a failed publish, so the first
invalidation after a Redis restart was lost (the write stayed stale on the other server for
the full TTL), and a failed re-subscribe left the listener looping on an unsubscribed pubsub.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from myia.db.engine import Database
from myia.db.enums import UserRole
from tests.factories import bearer_headers, make_provider
from tests.faults.support import assert_one_row_per_pair, env_for, wait_health
from tests.queue.saq_support import processes
from tests.sim_support import PrivateRedis, free_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.parametrize("db_url", ["postgresql"], indirect=True),
]
# Well inside the 60 s TTL (the reader cached the name again just before the write), so only
# the invalidation can make the new name visible this soon; generous, as the machine is busy.
VISIBLE_WITHIN_S = 30.0


async def test_a_write_after_a_redis_restart_reaches_the_other_server(
    db_url: str, database: Database, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    async with database.session() as session:
        provider = await make_provider(session, slug="cached", name="before")
        provider_id = provider.id
        headers = await bearer_headers(session, role=UserRole.ADMIN)
    env = env_for(
        DATABASE_URL=db_url,
        REDIS_URL=private_redis.url,
        QUEUE_WORKERS_ENABLED="false",
        CATALOG_CACHE_TTL_S=60,
    )
    ports = [free_port(), free_port()]
    writer, reader = (f"http://127.0.0.1:{p}" for p in ports)
    with processes(tmp_path) as children:
        for n, port in enumerate(ports):
            children.start(f"serve{n}", ["serve", "--port", str(port)], env)
        for base in (writer, reader):
            await wait_health(f"{base}/api/health", 200, timeout_s=120, what="myia serve up")
        async with httpx.AsyncClient(headers=headers, timeout=10) as client:
            url = f"/api/v2/providers/{provider_id}"
            assert (await client.get(reader + url)).json()["name"] == "before"  # now cached

            private_redis.kill()
            for base in (writer, reader):
                await wait_health(f"{base}/api/health", 503, timeout_s=30, what="Redis down")
            private_redis.start()  # same port, empty
            for base in (writer, reader):
                await wait_health(f"{base}/api/health", 200, timeout_s=60, what="Redis back")
            assert (await client.get(reader + url)).json()["name"] == "before"  # cached again

            changed = await client.put(writer + url, json={"name": "after"})
            assert changed.status_code == 200, changed.text
            written = time.monotonic()
            seen = None
            while time.monotonic() - written < VISIBLE_WITHIN_S:
                seen = (await client.get(reader + url)).json()["name"]
                if seen == "after":
                    break
                await asyncio.sleep(0.05)
            assert seen == "after", children.log("serve1")
        for n in range(2):
            # One "lost Redis" warning per outage and server, not a flood.
            lost = (tmp_path / f"serve{n}.log").read_text().count("listener lost Redis")
            assert lost <= 1, children.log(f"serve{n}")
    await assert_one_row_per_pair(database)  # no job ran: nothing open, nothing doubled
