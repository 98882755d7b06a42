"""Every CLI command against a database it cannot use: a SQLite path in a missing directory,
a SQLite path under a file, a PostgreSQL that is down (nothing listens on the port) and a
database with no schema. Each ends in one line on stderr, a non-zero exit and no traceback;
`db diagnose` (documented as read-only) creates nothing, and reports a missing schema."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.sim_support import free_port

MYIA = str(Path(sys.executable).with_name("myia"))
SOME_ID = "00000000-0000-0000-0000-000000000000"

COMMANDS: list[list[str]] = [
    ["db", "diagnose"],
    ["db", "seed"],
    ["db", "backup"],
    ["db", "restore", "--yes", "{backup}"],
    ["db", "reset", "--yes"],
    ["db", "prune", "--yes"],
    ["models", "list"],
    ["models", "discover", "--provider", "bedrock"],
    ["models", "check-credentials"],
    ["providers", "list"],
    ["providers", "set-url", "openai", "http://127.0.0.1:9/v1"],
    ["certifications", "check"],
    ["certifications", "show", SOME_ID],
    ["certifications", "clear", "--yes"],
    ["certifications", "uncertified"],
    ["jobs", "list"],
    ["jobs", "show", SOME_ID],
    ["jobs", "pause", SOME_ID],
    ["jobs", "resume", SOME_ID],
    ["jobs", "cancel", SOME_ID],
    ["jobs", "clean", "--yes"],
    ["jobs", "sync"],
    ["jobs", "stats"],
    ["users", "create", "--email", "a@example.com", "--password-stdin"],
    ["users", "list"],
    ["users", "set-role", "a@example.com", "admin"],
    ["users", "disable", "a@example.com"],
    ["users", "enable", "a@example.com"],
    ["users", "reset-password", "a@example.com", "--password-stdin"],
    ["secrets", "rotate", "--yes"],
    ["certify", "--all", "--no-wait"],
    ["health"],
    # Checks the database and its schema before uvicorn starts: never reaches the port.
    ["serve", "--port", "9"],
]
# The database opens on these two, so `db diagnose` answers with its report (exit 0).
CONNECTABLE = {"missing directory", "unmigrated database"}
READ_ONLY = {("db", "diagnose")}


def _setups(tmp_path: Path) -> dict[str, tuple[str, Path | None]]:
    """name -> (DATABASE_URL, the path that must not appear when nothing may be created)."""
    a_file = tmp_path / "a-file"
    a_file.write_text("not a directory")
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()  # a database file with no schema
    return {
        "missing directory": (
            f"sqlite+aiosqlite:///{tmp_path}/missing/dir/myia.db",
            tmp_path / "missing",
        ),
        "parent is a file": (f"sqlite+aiosqlite:///{a_file}/myia.db", None),
        "PostgreSQL down": (
            f"postgresql+asyncpg://postgres:pw@127.0.0.1:{free_port()}/myia",
            None,
        ),
        "unmigrated database": (f"sqlite+aiosqlite:///{empty}", None),
    }


def _run(
    command: list[str], env: dict[str, str], backup: Path, cwd: Path
) -> tuple[list[str], list[str], subprocess.CompletedProcess[str]]:
    args = [a.replace("{backup}", str(backup)) for a in command]
    result = subprocess.run(
        [MYIA, *args],
        env=env,
        input="long-enough-pw\n",  # for --password-stdin
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )
    return command, args, result


@pytest.mark.parametrize(
    "setup", ["missing directory", "parent is a file", "PostgreSQL down", "unmigrated database"]
)
def test_every_command_fails_in_one_line(tmp_path: Path, setup: str) -> None:
    url, must_not_exist = _setups(tmp_path)[setup]
    backup = tmp_path / "some.backup"
    backup.write_bytes(b"SQLite format 3\x00")
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "MYIA_MODE": "test",
        "NEW_ENCRYPTION_SECRET": "a-new-encryption-secret-0123456789",
        "BACKUP_DIR": str(tmp_path / "backups"),
        "QUEUE_URL": "",
        "REDIS_URL": "",
        "COLUMNS": "80",
    }
    commands = COMMANDS
    # The read-only command first and alone (the others may create the directory), then
    # the rest a few at a time: each is a process start, slow on busy cores.
    first = [c for c in commands if tuple(c[:2]) in READ_ONLY]
    rest = [c for c in commands if tuple(c[:2]) not in READ_ONLY]
    results = [_run(c, env, backup, tmp_path) for c in first]
    created = must_not_exist is not None and must_not_exist.exists()
    with ThreadPoolExecutor(max_workers=4) as pool:
        results += list(pool.map(lambda c: _run(c, env, backup, tmp_path), rest))
    problems = []
    for command, args, result in results:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        shown = f"myia {' '.join(args)} → exit {result.returncode}: {result.stderr[-600:]!r}"
        read_only = tuple(command[:2]) in READ_ONLY
        if read_only and setup in CONNECTABLE and result.returncode == 0:
            pass  # diagnose reports "no schema: run myia db migrate"; it must create nothing
        elif result.returncode == 0:
            problems.append(f"succeeded: {shown} {result.stdout[-300:]!r}")
        elif "Traceback" in result.stderr + result.stdout or len(lines) != 1:
            problems.append(f"not one line: {shown}")
        if read_only and created:
            problems.append(f"created {must_not_exist}: {shown}")
    assert (tmp_path / "backups").exists() is False or not any((tmp_path / "backups").iterdir())
    assert problems == [], "\n".join(problems)
