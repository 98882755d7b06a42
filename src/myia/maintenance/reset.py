"""`myia db reset`: the clean slate — back up, drop every table, migrate to an empty schema."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from myia.db.engine import Database
from myia.db.migrate import head_revision
from myia.maintenance.backup import BackupResult, backup_database, default_backup_path
from myia.maintenance.connection import check_connection, mask_url
from myia.maintenance.schema import (
    drop_all_tables,
    migrate_database,
    schema_state,
    table_names,
)


@dataclass(frozen=True)
class ResetPlan:
    url: str
    backend: str
    backup_path: Path
    tables: list[str]
    head: str


@dataclass(frozen=True)
class ResetResult:
    backup: BackupResult
    downgraded: bool
    leftovers: list[str]
    revision_before: str | None
    revision_after: str | None


async def plan_reset(*, database: Database, backup_dir: Path) -> ResetPlan:
    """What a reset would do, without changing anything (for --dry-run and the prompt)."""
    await check_connection(database)
    return ResetPlan(
        url=mask_url(database.url),
        backend=database.dialect,
        backup_path=default_backup_path(database, backup_dir),
        tables=await table_names(database),
        head=head_revision(),
    )


async def reset_database(*, database: Database, backup_dir: Path) -> ResetResult:
    """Back up first (a failed backup stops everything), then drop all and migrate to head."""
    await check_connection(database)
    before = (await schema_state(database)).revision
    backup = await backup_database(database=database, backup_dir=backup_dir)
    downgraded, leftovers = await drop_all_tables(database=database)
    _, after = await migrate_database(database=database)
    return ResetResult(
        backup=backup,
        downgraded=downgraded,
        leftovers=leftovers,
        revision_before=before,
        revision_after=after,
    )
