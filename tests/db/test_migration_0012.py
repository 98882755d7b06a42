"""Migration 0012 (certification spend): up, down and up again on both databases, the job
and item rows kept; rows written before it read as nothing spent, no cap."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import bindparam, inspect, text

from myia.db.engine import Database
from myia.db.migrate import current_revision, downgrade_async, head_revision, upgrade_async
from myia.db.types import UTCDateTime

NOW = datetime(2026, 12, 4, tzinfo=UTC)
JOB_COLUMNS = {"max_cost_usd", "spent_usd", "reserved_usd"}
ITEM_COLUMNS = {"cost_usd", "cost_reason", "tokens_in", "tokens_out", "reserved_usd"}


async def _columns(database: Database, table: str) -> set[str]:
    async with database.engine.connect() as connection:
        found = await connection.run_sync(lambda c: inspect(c).get_columns(table))
    return {column["name"] for column in found}


async def test_0012_up_down_up_keeps_the_jobs(db_url: str) -> None:
    database = Database(db_url)
    try:
        assert await current_revision(database) == head_revision()
        await downgrade_async(database, "0011")
        assert not JOB_COLUMNS & await _columns(database, "certification_jobs")
        assert not ITEM_COLUMNS & await _columns(database, "certification_job_items")
        insert = text(
            "INSERT INTO certification_jobs (id, type, regions, deployment_ids, status,"
            " total_models, processed_models, success_count, failure_count, created_at,"
            " updated_at) VALUES ('j1', 'SINGLE_MODEL', '[]', '[]', 'COMPLETED', 0, 0, 0, 0,"
            " :now, :now)"
        ).bindparams(bindparam("now", type_=UTCDateTime()))
        async with database.engine.begin() as connection:
            await connection.execute(insert, {"now": NOW})

        await upgrade_async(database)
        assert await current_revision(database) == head_revision()
        assert await _columns(database, "certification_jobs") >= JOB_COLUMNS
        assert await _columns(database, "certification_job_items") >= ITEM_COLUMNS
        async with database.engine.connect() as connection:
            row = (
                await connection.execute(
                    text(
                        "SELECT status, max_cost_usd, spent_usd, reserved_usd"
                        " FROM certification_jobs WHERE id = 'j1'"
                    )
                )
            ).one()
        assert tuple(row) == ("COMPLETED", None, 0.0, 0.0)
    finally:
        await database.dispose()
