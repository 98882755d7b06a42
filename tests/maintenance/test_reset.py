"""Reset: always a backup first, then an empty schema at head — even from a damaged one."""

from __future__ import annotations

from pathlib import Path

import pytest

from myia.db.engine import Database
from myia.db.migrate import current_revision, head_revision
from myia.maintenance.backup import BackupError
from myia.maintenance.reset import plan_reset, reset_database
from myia.maintenance.schema import expected_tables, table_names
from tests.maintenance.databases import drop_tables_async, row_counts_async, seed_async


async def _assert_empty_schema_at_head(database: Database) -> None:
    assert set(await table_names(database)) == {*expected_tables(), "alembic_version"}
    assert await current_revision(database) == head_revision()
    counts = await row_counts_async(database.url, expected_tables())
    assert set(counts.values()) == {0}


async def test_reset_backs_up_then_leaves_an_empty_schema(db_url: str, tmp_path: Path) -> None:
    await seed_async(db_url, demo=True)
    database = Database(db_url)
    try:
        plan = await plan_reset(database=database, backup_dir=tmp_path)
        assert set(expected_tables()) <= set(plan.tables)
        assert not plan.backup_path.exists()  # planning writes nothing
        result = await reset_database(database=database, backup_dir=tmp_path)
        assert result.backup.path.exists() and result.backup.size_bytes > 0
        assert result.downgraded
        assert result.revision_before == result.revision_after == head_revision()
        await _assert_empty_schema_at_head(database)
    finally:
        await database.dispose()


async def test_reset_rebuilds_a_half_migrated_database(db_url: str, tmp_path: Path) -> None:
    await drop_tables_async(db_url)
    database = Database(db_url)
    try:
        result = await reset_database(database=database, backup_dir=tmp_path)
        assert not result.downgraded  # Alembic cannot drop indexes of missing tables
        assert "users" in result.leftovers
        await _assert_empty_schema_at_head(database)
    finally:
        await database.dispose()


async def test_reset_drops_tables_alembic_does_not_know(db_url: str, tmp_path: Path) -> None:
    from sqlalchemy import text

    database = Database(db_url)
    try:
        async with database.engine.begin() as connection:
            await connection.execute(text("CREATE TABLE scratch (id INTEGER PRIMARY KEY)"))
        result = await reset_database(database=database, backup_dir=tmp_path)
        assert "scratch" in result.leftovers
        assert "scratch" not in await table_names(database)
    finally:
        await database.dispose()


async def test_failed_backup_stops_the_reset(db_url: str, tmp_path: Path) -> None:
    await seed_async(db_url, demo=False)
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the backup directory should be")
    database = Database(db_url)
    try:
        with pytest.raises(BackupError, match="cannot write the backup"):
            await reset_database(database=database, backup_dir=blocked / "backups")
    finally:
        await database.dispose()
    assert await row_counts_async(db_url, ["providers"]) == {"providers": 4}
