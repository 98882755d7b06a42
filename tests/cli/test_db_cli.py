"""`myia db …` end to end through Typer's CliRunner, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from myia.db.migrate import head_revision
from myia.maintenance.schema import expected_tables
from tests.cli.conftest import Invoke, flat
from tests.maintenance.databases import (
    HALF_DROPPED,
    drop_tables,
    empty_database,
    execute,
    row_counts,
    seed,
)

UseDatabase = Callable[[str], Path]
SEEDED = {"providers": 4, "base_models": 6, "model_deployments": 6}
DEMO = {"users": 2, "user_settings": 2, "chats": 3, "messages": 12, "api_call_logs": 6}


def _report(invoke: Invoke) -> dict[str, Any]:
    result = invoke("db", "diagnose", "--json")
    data: dict[str, Any] = json.loads(result.stdout)
    data["exit_code"] = result.exit_code
    return data


# --- diagnose ----------------------------------------------------------------------------
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_diagnose_empty_database(
    backend: str, tmp_path: Path, pg_available: bool, use_database: UseDatabase, invoke: Invoke
) -> None:
    with empty_database(backend, tmp_path, pg_available) as url:
        use_database(url)
        result = invoke("db", "diagnose")
        data = _report(invoke)
    assert result.exit_code == 0, result.output
    out = flat(result.stdout)
    assert "Connection OK" in out
    assert f"0/{len(expected_tables())} tables" in out
    assert "Command: myia db migrate" in out and "myia db seed" not in out
    assert data["tables_found"] == 0 and data["missing_tables"] == expected_tables()
    assert data["current_revision"] is None and data["exit_code"] == 0


def test_diagnose_half_migrated_database(
    db_url: str, use_database: UseDatabase, invoke: Invoke
) -> None:
    drop_tables(db_url)
    use_database(db_url)
    result = invoke("db", "diagnose")
    assert result.exit_code == 0, result.output
    out = flat(result.stdout)
    n = len(expected_tables())
    assert f"{n - len(HALF_DROPPED)}/{n} tables" in out
    assert all(f"- {name}" in result.stdout for name in HALF_DROPPED)
    assert "Command: myia db reset" in out and "damaged" in out


def test_diagnose_full_database_then_seeded(
    db_url: str, use_database: UseDatabase, invoke: Invoke
) -> None:
    use_database(db_url)
    empty = invoke("db", "diagnose")
    n = len(expected_tables())
    assert f"{n}/{n} tables" in flat(empty.stdout)
    assert f"Alembic revision: {head_revision()} (head: {head_revision()})" in flat(empty.stdout)
    assert "Command: myia db seed" in flat(empty.stdout)
    assert "Command: myia db seed --demo" in flat(empty.stdout)
    seed(db_url, demo=True)
    ready = invoke("db", "diagnose")
    out = flat(ready.stdout)
    assert "The database is ready" in out
    assert "myia db seed" not in out
    assert "myia models discover" in out and "myia certify --all" in out
    data = _report(invoke)
    assert {k: data["row_counts"][k] for k in SEEDED} == SEEDED
    assert {k: data["row_counts"][k] for k in DEMO} == DEMO


def test_diagnose_unreachable_database_exits_1_without_traceback(
    use_database: UseDatabase, invoke: Invoke
) -> None:
    use_database("postgresql://postgres:hunter2-pw@127.0.0.1:1/myia")
    result = invoke("db", "diagnose")
    assert result.exit_code == 1
    out = flat(result.output)
    assert "cannot connect to the database at postgresql+asyncpg://postgres:***@127.0.0.1:1" in out
    assert isinstance(result.exception, SystemExit)  # a clean exit, not a crash
    assert "hunter2-pw" not in result.output
    data = _report(invoke)
    assert data["connected"] is False and data["exit_code"] == 1


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "DATABASE_URL is not a valid database URL"),
        ("mysql://u:hunter2-pw@localhost/db", "unsupported database 'mysql'"),
    ],
)
def test_bad_database_url_is_one_clear_line(
    url: str, message: str, use_database: UseDatabase, invoke: Invoke
) -> None:
    use_database(url)
    for command in (["db", "diagnose"], ["db", "seed"], ["db", "backup"], ["db", "migrate"]):
        result = invoke(*command)
        assert result.exit_code == 1
        assert message in flat(result.output) and "hunter2-pw" not in result.output


# --- migrate / seed ----------------------------------------------------------------------
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migrate_prints_revisions_and_seed_needs_it(
    backend: str, tmp_path: Path, pg_available: bool, use_database: UseDatabase, invoke: Invoke
) -> None:
    with empty_database(backend, tmp_path, pg_available) as url:
        use_database(url)
        refused = invoke("db", "seed")
        assert refused.exit_code == 1
        assert "run `myia db migrate` first" in flat(refused.output)
        first = invoke("db", "migrate")
        second = invoke("db", "migrate")
    assert first.exit_code == 0, first.output
    assert "Revision before: none" in first.stdout
    assert f"Revision after: {head_revision()}" in flat(first.stdout)
    assert f"Revision before: {head_revision()}" in second.stdout
    assert "nothing to do" in second.stdout


def test_seed_counts_idempotency_and_demo_only_on_request(
    db_url: str, use_database: UseDatabase, invoke: Invoke
) -> None:
    use_database(db_url)
    basic = invoke("db", "seed")
    assert basic.exit_code == 0, basic.output
    out = flat(basic.stdout)
    for line in ("✅ OpenAI OK", "✅ Groq OK", "✅ Together AI OK", "✅ AWS Bedrock OK"):
        assert line in out
    assert "models: 2" in out and "16 rows added" in out
    assert row_counts(db_url, ["users", "chats"]) == {"users": 0, "chats": 0}

    demo = invoke("db", "seed", "--demo")
    assert demo.exit_code == 0, demo.output
    out = flat(demo.stdout)
    assert "User leo@leo.com OK" in out and "role: admin" in out
    assert "3 chats, 12 messages, 6 API call logs added" in out
    assert row_counts(db_url, [*SEEDED, *DEMO]) == {**SEEDED, **DEMO}

    again = invoke("db", "seed", "--demo")
    assert again.exit_code == 0 and "nothing to add" in again.stdout
    assert row_counts(db_url, [*SEEDED, *DEMO]) == {**SEEDED, **DEMO}


# --- backup / restore --------------------------------------------------------------------
def test_backup_restore_round_trip(
    db_url: str, use_database: UseDatabase, invoke: Invoke, tmp_path: Path
) -> None:
    backups = use_database(db_url)
    seed(db_url, demo=True)
    made = invoke("db", "backup")
    assert made.exit_code == 0, made.output
    files = list(backups.iterdir())
    assert len(files) == 1 and files[0].name.startswith("myia-")
    assert str(files[0]) in flat(made.stdout)

    execute(db_url, "DELETE FROM api_call_logs")
    assert row_counts(db_url, ["api_call_logs"]) == {"api_call_logs": 0}

    refused = invoke("db", "restore", str(files[0]))
    assert refused.exit_code == 1 and "without --yes" in flat(refused.output)
    assert row_counts(db_url, ["api_call_logs"]) == {"api_call_logs": 0}

    restored = invoke("db", "restore", str(files[0]), "--yes")
    assert restored.exit_code == 0, restored.output
    assert row_counts(db_url, ["api_call_logs", "messages"]) == {
        "api_call_logs": 6,
        "messages": 12,
    }
    missing = invoke("db", "restore", str(tmp_path / "nope.sql"), "--yes")
    assert missing.exit_code == 1 and "not found" in flat(missing.output)


def test_backup_output_option_never_prints_the_password(
    use_database: UseDatabase, invoke: Invoke, tmp_path: Path, pg_available: bool
) -> None:
    with empty_database("postgresql", tmp_path, pg_available) as url:
        # The same server, reached with a password it ignores (trust auth) — it must not leak.
        with_password = url.replace("postgres@", "postgres:hunter2-pw@")
        use_database(with_password)
        result = invoke("db", "backup", "--output", str(tmp_path / "out.sql"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out.sql").exists()
    assert "hunter2-pw" not in result.output and "***" in result.output


# --- reset -------------------------------------------------------------------------------
def test_reset_refuses_without_yes_when_not_interactive(
    db_url: str, use_database: UseDatabase, invoke: Invoke
) -> None:
    backups = use_database(db_url)
    seed(db_url, demo=False)
    result = invoke("db", "reset")
    assert result.exit_code == 1
    assert "refusing to reset the database without --yes" in flat(result.output)
    assert row_counts(db_url, ["providers"]) == {"providers": 4}
    assert not backups.exists() or not list(backups.iterdir())


def test_reset_dry_run_changes_nothing(
    db_url: str, use_database: UseDatabase, invoke: Invoke
) -> None:
    backups = use_database(db_url)
    seed(db_url, demo=False)
    result = invoke("db", "reset", "--dry-run")
    assert result.exit_code == 0, result.output
    out = flat(result.stdout)
    assert "1. back up to" in out and "providers" in out and "Dry run: nothing was changed" in out
    assert row_counts(db_url, ["providers"]) == {"providers": 4}
    assert not backups.exists() or not list(backups.iterdir())


def test_reset_with_yes_backs_up_and_leaves_an_empty_schema(
    db_url: str, use_database: UseDatabase, invoke: Invoke
) -> None:
    backups = use_database(db_url)
    seed(db_url, demo=True)
    result = invoke("db", "reset", "--yes")
    assert result.exit_code == 0, result.output
    files = list(backups.iterdir())
    assert len(files) == 1 and files[0].stat().st_size > 0
    assert f"Backup written to {files[0]}" in flat(result.stdout)
    data = _report(invoke)
    assert data["tables_found"] == len(expected_tables()) and data["at_head"]
    assert set(data["row_counts"].values()) == {0}
    # The backup is a real one: restoring it brings the demo data back.
    assert invoke("db", "restore", str(files[0]), "--yes").exit_code == 0
    assert row_counts(db_url, ["messages"]) == {"messages": 12}


def test_backup_into_a_new_directory_with_a_trailing_slash(
    db_url: str, use_database: UseDatabase, invoke: Invoke, tmp_path: Path
) -> None:
    use_database(db_url)
    result = invoke("db", "backup", "--output", f"{tmp_path / 'daily'}/")
    assert result.exit_code == 0, result.output
    files = list((tmp_path / "daily").iterdir())
    assert len(files) == 1 and files[0].name.startswith("myia-")


@pytest.mark.parametrize(("answer", "providers"), [("n\n", 4), ("y\n", 0)])
def test_reset_asks_on_a_terminal(
    answer: str,
    providers: int,
    db_url: str,
    use_database: UseDatabase,
    invoke: Invoke,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_database(db_url)
    seed(db_url, demo=False)
    monkeypatch.setattr("myia.cli.db.is_interactive", lambda: True)
    result = invoke("db", "reset", input=answer)
    assert "Reset the database?" in result.output
    assert result.exit_code == (1 if providers else 0), result.output
    assert row_counts(db_url, ["providers"]) == {"providers": providers}
