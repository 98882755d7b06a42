"""The call-log writer: batches, never loses a batch the database refused, stays bounded."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from myia.db.engine import Database
from myia.db.models import ApiCallLog
from myia.db.types import new_id
from myia.telemetry.calls import CallLogWriter, CallRecord


def _record(n: int, **fields: object) -> CallRecord:
    values: dict[str, object] = {
        "operation": "chat",
        "provider": "openai",
        "model": f"model-{n}",
        "status": "success",
        "tokens_in": n,
        "tokens_out": 2 * n,
        "latency_ms": 12.4,
        "ttft_ms": 3.6,
    }
    values.update(fields)
    return CallRecord(**values)  # type: ignore[arg-type]


async def _count(database: Database) -> int:
    async with database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(ApiCallLog)) or 0)


async def test_flush_writes_every_queued_record(database: Database) -> None:
    writer = CallLogWriter(max_batch=3)
    for n in range(7):
        writer.record(_record(n))
    assert writer.pending == 7
    assert await writer.flush(database) == 7
    assert writer.pending == 0 and await _count(database) == 7
    async with database.session() as session:
        row = await session.scalar(select(ApiCallLog).where(ApiCallLog.model == "model-5"))
    assert row is not None
    assert (row.tokens_in, row.tokens_out, row.latency_ms, row.time_to_first_token_ms) == (
        5, 10, 12, 4
    )  # fmt: skip


async def test_background_task_flushes_on_size_and_on_stop(database: Database) -> None:
    writer = CallLogWriter(max_batch=5, interval_s=3600)  # only size or stop can flush
    writer.start(database)
    try:
        for n in range(5):
            writer.record(_record(n))
        deadline = asyncio.get_running_loop().time() + 30
        while await _count(database) < 5:
            assert asyncio.get_running_loop().time() < deadline, "size did not trigger a flush"
            await asyncio.sleep(0.05)
        writer.record(_record(99))
    finally:
        await writer.stop()
    assert await _count(database) == 6 and writer.pending == 0


async def test_a_refused_batch_stays_queued_and_the_queue_is_bounded(database: Database) -> None:
    down = Database("postgresql://postgres@127.0.0.1:1/nowhere")  # nothing listens there
    writer = CallLogWriter(max_pending=4)
    try:
        for n in range(6):
            writer.record(_record(n))
        assert writer.pending == 4 and writer.dropped == 2
        try:
            await writer.flush(down)
        except Exception:
            pass
        else:
            raise AssertionError("a database that is down must refuse the batch")
        assert writer.pending == 4
        assert await writer.flush(database) == 4
        async with database.session() as session:
            models = set((await session.scalars(select(ApiCallLog.model))).all())
        assert models == {"model-2", "model-3", "model-4", "model-5"}  # the oldest fell off
    finally:
        await down.dispose()


async def test_a_row_the_database_rejects_does_not_block_the_others(database: Database) -> None:
    writer = CallLogWriter()
    writer.record(_record(1))
    writer.record(_record(2, user_id=new_id()))  # a user that does not exist
    writer.record(_record(3, provider="p" * 500, error="e" * 100_000))  # clipped, not refused
    assert await writer.flush(database) == 2
    assert writer.dropped == 1 and writer.pending == 0
    assert await _count(database) == 2
