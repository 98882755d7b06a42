"""Diagnosis of empty, half-migrated, migrated, seeded and unreachable databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from myia.db.engine import Database, sqlite_path
from myia.db.migrate import alembic_config, head_revision, upgrade_async
from myia.maintenance.diagnose import DiagnosisReport, diagnose
from myia.maintenance.schema import expected_tables
from tests.maintenance.databases import HALF_DROPPED, drop_tables_async, seed_async


async def _diagnose(url: str) -> DiagnosisReport:
    database = Database(url)
    try:
        return await diagnose(database=database)
    finally:
        await database.dispose()


def _commands(report: DiagnosisReport) -> list[str]:
    return [item.command for item in report.recommendations]


async def test_empty_database_needs_migrations(empty_db_url: str) -> None:
    report = await _diagnose(empty_db_url)
    assert report.connected
    assert report.found_tables == []
    assert report.missing_tables == expected_tables()
    assert report.current_revision is None and report.head_revision == head_revision()
    assert _commands(report) == ["myia db migrate"]
    assert report.recommendations[0].required
    assert "no schema" in report.summary


async def test_diagnosis_does_not_create_a_missing_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'absent.db'}"
    report = await _diagnose(url)
    assert report.note is not None and "does not exist" in report.note
    assert not (tmp_path / "absent.db").exists()


async def test_half_migrated_database_lists_missing_tables(db_url: str) -> None:
    await drop_tables_async(db_url)
    report = await _diagnose(db_url)
    expected = expected_tables()
    assert len(report.found_tables) == len(expected) - len(HALF_DROPPED)
    assert sorted(report.missing_tables) == sorted(HALF_DROPPED)
    assert report.at_head
    # At head, `migrate` cannot bring back dropped tables: the advice is the rebuild.
    assert _commands(report) == ["myia db reset"]
    assert "damaged" in report.summary
    assert set(report.row_counts) == set(report.found_tables)


async def test_database_behind_head_needs_migrations(empty_db_url: str) -> None:
    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    first = scripts.get_base()
    if first == head_revision():
        pytest.skip("only one migration: no older revision to stop at")
    assert first is not None
    database = Database(empty_db_url)
    try:
        await upgrade_async(database, first)
    finally:
        await database.dispose()
    report = await _diagnose(empty_db_url)
    assert report.current_revision == first and not report.at_head
    assert _commands(report) == ["myia db migrate"]


async def test_migrated_empty_database_needs_the_seed(db_url: str) -> None:
    report = await _diagnose(db_url)
    assert report.found_tables == expected_tables() and not report.missing_tables
    assert report.at_head
    assert report.empty_tables == expected_tables()
    assert _commands(report)[:2] == ["myia db seed", "myia db seed --demo"]
    assert any(c.startswith("myia models discover") for c in _commands(report))
    assert _commands(report)[-1] == "myia certify --all"
    assert "empty" in report.summary


async def test_seeded_database_is_ready(db_url: str) -> None:
    await seed_async(db_url, demo=True)
    report = await _diagnose(db_url)
    counts = report.row_counts
    assert (counts["providers"], counts["base_models"], counts["model_deployments"]) == (4, 6, 6)
    assert (counts["users"], counts["chats"], counts["messages"]) == (2, 3, 12)
    assert counts["api_call_logs"] == 6
    assert "providers" in report.filled_tables and "model_certifications" in report.empty_tables
    commands = _commands(report)
    assert "myia db seed" not in commands and "myia db seed --demo" not in commands
    assert commands[-1] == "myia certify --all"
    assert report.summary == "The database is ready"


async def test_unreachable_database_is_reported_not_raised() -> None:
    report = await _diagnose("postgresql://postgres:hunter2-secret@127.0.0.1:1/nowhere")
    assert not report.connected
    assert report.error is not None and "cannot connect" in report.error
    assert "hunter2-secret" not in report.error and "***" in report.url
    assert report.to_dict()["connected"] is False


async def test_report_serialises_counts(db_url: str) -> None:
    data = (await _diagnose(db_url)).to_dict()
    assert data["tables_found"] == data["tables_expected"] == len(expected_tables())
    assert data["at_head"] is True
    path = sqlite_path(db_url)
    assert path is None or str(path) in data["url"]


async def test_a_file_that_is_not_sqlite_is_unreachable(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("plain text, not a database " * 10)
    report = await _diagnose(f"sqlite+aiosqlite:///{path}")
    assert not report.connected
    assert report.error is not None and "file is not a database" in report.error
