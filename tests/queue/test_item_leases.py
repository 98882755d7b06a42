"""A worker knows which items it holds: what the database says it runs but it does not is
given back at its next heartbeat (attempt refunded), an item whose lease no live worker
renews is recovered, and a worker on this machine whose process is gone is dead at once."""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from datetime import timedelta

from sqlalchemy import update

from myia.certification import jobs
from myia.certification.selection import JobSelection
from myia.db.engine import Database
from myia.db.enums import JobItemStatus
from myia.db.models import CertificationJobItem, WorkerHeartbeat
from myia.db.types import utcnow
from myia.queue import heartbeat, items
from myia.queue.execute import Executor
from myia.queue.factory import limiter_config
from myia.queue.ratelimit import LocalLimiterPool
from myia.sim import load_scenario
from tests.conftest import make_settings
from tests.factories import make_sim_catalog
from tests.sim_support import SCENARIOS

STALE_S = 3.0


async def _items(database: Database) -> list[str]:
    scenario = load_scenario(SCENARIOS / "test-basic.yaml")
    async with database.session() as session:
        await make_sim_catalog(session, scenario, "http://127.0.0.1:9", include_openai=False)
        _, ids = await jobs.create_job(
            session=session,
            selection=JobSelection(all=True, regions=["us-east-1"]),
            default_regions=["us-east-1"],
        )
    return ids


async def _item(database: Database, item_id: str) -> CertificationJobItem:
    async with database.session() as session:
        item = await session.get(CertificationJobItem, item_id)
        assert item is not None
        return item


async def test_a_give_back_lost_to_an_outage_happens_at_the_next_heartbeat(
    db_url: str, database: Database
) -> None:
    held, lost = (await _items(database))[:2]
    settings = make_settings(DATABASE_URL=db_url)
    executor = Executor(database, settings, LocalLimiterPool(limiter_config(settings)), "w-live")
    await heartbeat.beat(database, "w-live", engine="test")
    for item_id in (held, lost):
        async with database.session() as session:
            assert await items.claim(session, item_id, "w-live")
    executor.held = Counter({held: 1})  # `lost`: its give-back failed, the worker let it go

    await executor.heartbeat_items()

    assert (await _item(database, held)).status is JobItemStatus.PROCESSING
    back = await _item(database, lost)
    assert (back.status, back.claimed_by, back.attempts) == (JobItemStatus.QUEUED, None, 0)


async def test_recovery_takes_what_no_live_worker_renews_and_leaves_the_rest(
    database: Database,
) -> None:
    renewed, forgotten = (await _items(database))[:2]
    await heartbeat.beat(database, "w-live", engine="test")
    for item_id in (renewed, forgotten):
        async with database.session() as session:
            assert await items.claim(session, item_id, "w-live")
    long_ago = utcnow() - timedelta(seconds=10 * STALE_S)
    async with database.session() as session:
        await session.execute(
            update(CertificationJobItem)
            .where(CertificationJobItem.id.in_([renewed, forgotten]))
            .values(claimed_at=long_ago, updated_at=long_ago)
        )
        await session.commit()
        await items.renew(session, "w-live", {renewed})

        assert await items.recover_orphans(session, stale_after_s=STALE_S) == [forgotten]

    assert (await _item(database, renewed)).status is JobItemStatus.PROCESSING
    back = await _item(database, forgotten)
    assert (back.status, back.attempts) == (JobItemStatus.QUEUED, 0)  # refunded: alive worker


async def test_a_worker_whose_process_is_gone_is_dead_at_once(database: Database) -> None:
    (item_id,) = (await _items(database))[:1]
    gone = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await gone.wait()
    await heartbeat.beat(database, "w-gone", engine="test")  # just now: fresh
    async with database.session() as session:
        row = await session.get(WorkerHeartbeat, "w-gone")
        assert row is not None
        row.pid = gone.pid
        await session.commit()
        assert await items.claim(session, item_id, "w-gone")

        assert await items.recover_orphans(session, stale_after_s=STALE_S) == [item_id]
    async with database.session() as session:
        assert await session.get(WorkerHeartbeat, "w-gone") is None
    back = await _item(database, item_id)
    assert (back.status, back.attempts) == (JobItemStatus.QUEUED, 1)  # it may have killed it
