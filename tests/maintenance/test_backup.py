"""Backup and restore round trips on both backends, and the failures an operator meets."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import select

from myia.db.engine import Database
from myia.db.models import Provider
from myia.maintenance.backup import BackupError, backup_database, restore_database
from tests.conftest import require
from tests.factories import make_provider


async def _slugs(database: Database) -> set[str]:
    async with database.session() as session:
        return set((await session.scalars(select(Provider.slug))).all())


async def test_round_trip_brings_a_deleted_row_back(database: Database, tmp_path: Path) -> None:
    async with database.session() as session:
        await make_provider(session, slug="keep-me")
    result = await backup_database(database=database, backup_dir=tmp_path / "backups")
    assert result.path.parent == tmp_path / "backups"
    assert result.path.name.startswith("myia-")
    assert result.path.suffix == (".db" if database.dialect == "sqlite" else ".sql")
    assert result.size_bytes > 0
    assert stat.S_IMODE(result.path.stat().st_mode) == 0o600  # hashes and credentials inside
    assert not list(result.path.parent.glob("*.partial"))

    async with database.session() as session:
        provider = await session.scalar(select(Provider).where(Provider.slug == "keep-me"))
        await session.delete(provider)
        await session.commit()
    assert "keep-me" not in await _slugs(database)

    await restore_database(database=database, path=result.path)
    assert "keep-me" in await _slugs(database)


async def test_output_may_be_a_file_or_a_directory(database: Database, tmp_path: Path) -> None:
    named = await backup_database(
        database=database, backup_dir=tmp_path / "unused", output=tmp_path / "mine.bak"
    )
    assert named.path == tmp_path / "mine.bak" and named.path.exists()
    (tmp_path / "dir").mkdir()
    first = await backup_database(database=database, backup_dir=tmp_path, output=tmp_path / "dir")
    second = await backup_database(database=database, backup_dir=tmp_path, output=tmp_path / "dir")
    assert first.path.parent == tmp_path / "dir"
    assert first.path != second.path  # same second, still two files
    assert not (tmp_path / "unused").exists()


async def test_restore_refuses_the_other_backends_file(database: Database, tmp_path: Path) -> None:
    wrong = tmp_path / ("dump.sql" if database.dialect == "sqlite" else "copy.db")
    if database.dialect == "sqlite":
        wrong.write_text("-- PostgreSQL database dump\n")
    else:
        wrong.write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    with pytest.raises(BackupError, match="SQLite"):
        await restore_database(database=database, path=wrong)
    with pytest.raises(BackupError, match="not found"):
        await restore_database(database=database, path=tmp_path / "missing.sql")


async def test_missing_sqlite_file_has_nothing_to_back_up(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'nothing.db'}")
    try:
        with pytest.raises(BackupError, match="does not exist"):
            await backup_database(database=database, backup_dir=tmp_path)
    finally:
        await database.dispose()
    assert not (tmp_path / "nothing.db").exists()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_missing_pg_dump_is_named_with_the_fix(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(BackupError) as caught:
        await backup_database(database=database, backup_dir=tmp_path / "b")
    assert str(caught.value) == (
        "pg_dump not found: install the PostgreSQL client (apt-get install postgresql-client)"
    )
    assert not list((tmp_path / "b").glob("*"))  # no empty or partial file left behind


async def test_password_goes_in_the_environment_not_argv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stand-in pg_dump that records how it was called, as `ps` would show it.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "pg_dump"
    record = tmp_path / "called.txt"
    fake.write_text(
        "#!/bin/sh\n"
        f'echo "argv: $*" > {record}\n'
        f'echo "env: $PGPASSWORD" >> {record}\n'
        'while [ "$1" != "--file" ]; do shift; done; echo "-- dump" > "$2"\n'
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    database = Database("postgresql://backup_user:s3cr3t-pw@127.0.0.1:5432/myia_x")
    try:
        result = await backup_database(database=database, backup_dir=tmp_path / "b")
    finally:
        await database.dispose()
    argv, env = record.read_text().splitlines()
    assert "s3cr3t-pw" not in argv and env == "env: s3cr3t-pw"
    for expected in ("--no-owner", "--clean", "--if-exists", "--no-password", "myia_x"):
        assert expected in argv
    assert "s3cr3t-pw" not in result.database and result.path.name.startswith("myia-myia_x-")


async def test_pg_dump_errors_are_reported_without_the_password(
    tmp_path: Path, pg_available: bool
) -> None:
    require("PostgreSQL", pg_available)
    database = Database("postgresql://postgres:s3cr3t-pw@127.0.0.1:5432/no_such_db_here")
    try:
        with pytest.raises(BackupError) as caught:
            await backup_database(database=database, backup_dir=tmp_path)
    finally:
        await database.dispose()
    message = str(caught.value)
    assert message.startswith("pg_dump failed") and "no_such_db_here" in message
    assert "s3cr3t-pw" not in message


async def test_restore_gives_exactly_the_backed_up_database(
    database: Database, tmp_path: Path
) -> None:
    from sqlalchemy import inspect, text

    result = await backup_database(database=database, backup_dir=tmp_path)
    # A table created after the backup, pointing at a backed-up one (as a newer migration's
    # would), must not block the restore nor survive it.
    async with database.engine.begin() as connection:
        await connection.execute(
            text(
                "CREATE TABLE scratch (id VARCHAR(36) PRIMARY KEY "
                "REFERENCES providers (id) ON DELETE CASCADE)"
            )
        )
    await restore_database(database=database, path=result.path)
    async with database.engine.connect() as connection:
        names = await connection.run_sync(lambda c: inspect(c).get_table_names())
    assert "scratch" not in names and "providers" in names


# SQLite restores copy pages: there is no statement that could fail halfway.
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_a_failing_restore_changes_nothing(database: Database, tmp_path: Path) -> None:
    async with database.session() as session:
        await make_provider(session, slug="still-here")
    broken = tmp_path / "broken.sql"
    broken.write_text("SELECT 1;\nTHIS IS NOT SQL;\n")
    with pytest.raises(BackupError, match="psql failed"):
        await restore_database(database=database, path=broken)
    assert "still-here" in await _slugs(database)
