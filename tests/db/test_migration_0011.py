"""Migration 0011 (a gateway call's end user): up, down and up again on both databases, the
call-log rows kept; the column is bounded to 256 characters."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import bindparam, inspect, text

from myia.db.engine import Database
from myia.db.migrate import current_revision, downgrade_async, head_revision, upgrade_async
from myia.db.types import UTCDateTime

NOW = datetime(2026, 12, 4, tzinfo=UTC)


async def _end_user_column(database: Database) -> dict[str, object] | None:
    async with database.engine.connect() as connection:
        found = await connection.run_sync(lambda c: inspect(c).get_columns("api_call_logs"))
    return next((dict(column) for column in found if column["name"] == "end_user"), None)


async def _row(database: Database, column: str) -> object:
    async with database.engine.connect() as connection:
        return await connection.scalar(text(f"SELECT {column} FROM api_call_logs WHERE id = 'c1'"))


async def test_0011_up_down_up_keeps_the_call_log(db_url: str) -> None:
    database = Database(db_url)
    try:
        assert await current_revision(database) == head_revision()
        column = await _end_user_column(database)
        assert column is not None and column["nullable"]
        assert getattr(column["type"], "length", None) == 256
        insert = text(
            "INSERT INTO api_call_logs (id, provider, model, operation, status, end_user,"
            " created_at) VALUES ('c1', 'plainco', 'plain-model', 'gateway', 'success',"
            " 'end-user-1', :now)"
        ).bindparams(bindparam("now", type_=UTCDateTime()))
        async with database.engine.begin() as connection:
            await connection.execute(insert, {"now": NOW})

        await downgrade_async(database, "0010")
        assert await _end_user_column(database) is None
        assert await _row(database, "model") == "plain-model"

        await upgrade_async(database)
        assert await current_revision(database) == head_revision()
        assert await _end_user_column(database) is not None
        assert await _row(database, "model") == "plain-model"
        assert await _row(database, "end_user") is None  # what the downgrade dropped stays gone
    finally:
        await database.dispose()
