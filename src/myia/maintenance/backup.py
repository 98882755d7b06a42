"""Backups and restores: `pg_dump`/`psql` for PostgreSQL, the SQLite backup API for SQLite.

Backups hold password hashes and encrypted provider credentials, so files are written
owner-only (0600) and appear under their final name only once complete. The PostgreSQL
password travels in PGPASSWORD, never on a command line other users can read in `ps`.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from myia.db.engine import Database, sqlite_path
from myia.errors import MyIAError
from myia.maintenance.connection import mask_url, scrub

SQLITE_MAGIC = b"SQLite format 3\x00"
_INSTALL_HINT = "install the PostgreSQL client (apt-get install postgresql-client)"
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


class BackupError(MyIAError):
    """A backup or restore could not be made; the message says why and what to do."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    backend: str
    database: str
    size_bytes: int


def _database_name(database: Database) -> str:
    path = sqlite_path(database.url)
    name = path.stem if path is not None else (make_url(database.url).database or "db")
    return _UNSAFE_NAME.sub("_", name) or "db"


def backup_suffix(database: Database) -> str:
    return ".db" if database.dialect == "sqlite" else ".sql"


def default_backup_path(database: Database, backup_dir: Path, now: datetime | None = None) -> Path:
    """`<backup_dir>/myia-<db>-YYYYmmdd-HHMMSS.<sql|db>` (UTC), never an existing file."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    stem = f"myia-{_database_name(database)}-{stamp}"
    suffix = backup_suffix(database)
    path = backup_dir / f"{stem}{suffix}"
    counter = 1
    while path.exists():  # two backups in one second (a reset right after a backup)
        path = backup_dir / f"{stem}-{counter}{suffix}"
        counter += 1
    return path


def _resolve_output(database: Database, output: Path | None, backup_dir: Path) -> Path:
    if output is None:
        target = default_backup_path(database, backup_dir)
    elif output.is_dir():
        target = default_backup_path(database, output)
    else:
        target = output
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    return target


def _private_file(path: Path) -> None:
    """Create (or truncate) `path` readable by its owner only."""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


def _pg_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} not found: {_INSTALL_HINT}")
    return path


def _pg_connection(url: str) -> tuple[list[str], dict[str, str]]:
    """Command-line options and environment for libpq tools, password in the environment."""
    parsed = make_url(url)
    args = ["--no-password"]  # never prompt: a hidden prompt would hang a script
    env = dict(os.environ)
    host = parsed.host or parsed.query.get("host")
    if isinstance(host, str) and host:
        args += ["--host", host]
    if parsed.port:
        args += ["--port", str(parsed.port)]
    if parsed.username:
        args += ["--username", parsed.username]
    if parsed.password:
        env["PGPASSWORD"] = parsed.password
    ssl = parsed.query.get("sslmode") or parsed.query.get("ssl")
    if isinstance(ssl, str):
        env["PGSSLMODE"] = {"true": "require", "false": "disable"}.get(ssl, ssl)
    args += ["--dbname", parsed.database or "postgres"]
    return args, env


def _run_tool(command: list[str], env: dict[str, str], url: str) -> None:
    completed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        detail = scrub((completed.stderr or completed.stdout).strip(), url)
        lines = detail.splitlines()[-5:] or [f"exit status {completed.returncode}"]
        raise BackupError(f"{Path(command[0]).name} failed: " + " / ".join(lines))


def _pg_dump(url: str, target: Path) -> None:
    args, env = _pg_connection(url)
    command = [
        _pg_tool("pg_dump"),
        "--format=plain",
        "--no-owner",
        "--clean",
        "--if-exists",
        "--file",
        str(target),
        *args,
    ]
    _run_tool(command, env, url)


def _sqlite_source(database: Database) -> Path:
    path = sqlite_path(database.url)
    if path is None:
        raise BackupError("an in-memory SQLite database cannot be backed up")
    if not path.exists():
        raise BackupError(f"the SQLite file {path} does not exist: nothing to back up")
    if not _has_tables(path):
        # A file connecting just created: "✅ backed up" would hide a wrong DATABASE_URL.
        raise BackupError(
            f"the SQLite file {path} holds no tables (a new, empty database): nothing to "
            "back up; check DATABASE_URL, or run `myia db migrate` first"
        )
    return path


def _has_tables(path: Path) -> bool:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return bool(connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0])
    except sqlite3.DatabaseError:
        return True  # not a database at all: the copy reports it in its own words
    finally:
        connection.close()


def _sqlite_copy(source: Path, target: Path) -> None:
    src = sqlite3.connect(source)
    dest = sqlite3.connect(target)
    try:
        # The backup API copies a consistent snapshot even while the app writes (WAL).
        src.backup(dest)
    finally:
        dest.close()
        src.close()


async def backup_database(
    *, database: Database, backup_dir: Path, output: Path | None = None
) -> BackupResult:
    """Write a backup of `database`; return where it went."""
    source = _sqlite_source(database) if database.dialect == "sqlite" else None
    if source is None:
        _pg_tool("pg_dump")  # before any file or directory is made
    try:
        target = _resolve_output(database, output, backup_dir)
        partial = target.with_name(target.name + ".partial")
        _private_file(partial)
    except OSError as exc:
        raise BackupError(
            f"cannot write the backup under {output or backup_dir}: {exc.strerror or exc}"
        ) from exc
    try:
        if source is not None:
            await asyncio.to_thread(_sqlite_copy, source, partial)
        else:
            await asyncio.to_thread(_pg_dump, database.url, partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(
        path=target,
        backend=database.dialect,
        database=mask_url(database.url),
        size_bytes=target.stat().st_size,
    )


def _is_sqlite_file(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC


def check_restore(database: Database, path: Path) -> None:
    """Refuse a missing file, one made for the other backend or a missing psql, up front."""
    if database.dialect == "postgresql":
        _pg_tool("psql")
    if not path.is_file():
        raise BackupError(f"backup file {path} not found")
    sqlite_backup = _is_sqlite_file(path)
    if database.dialect == "sqlite" and not sqlite_backup:
        raise BackupError(
            f"{path} is not a SQLite database file; a pg_dump .sql backup restores only into "
            "PostgreSQL"
        )
    if database.dialect == "postgresql" and sqlite_backup:
        raise BackupError(f"{path} is a SQLite backup; DATABASE_URL points at PostgreSQL")


# The dump's own DROP … IF EXISTS only covers the tables it contains; a table created since
# (a newer migration) would keep its foreign keys and block them. Clearing the schema first
# makes a restore give exactly the backed-up database, as a SQLite file copy does.
_CLEAR_SCHEMA = """
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() LOOP
    EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', r.tablename);
  END LOOP;
  FOR r IN SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
           WHERE n.nspname = current_schema() AND t.typtype = 'e' LOOP
    EXECUTE format('DROP TYPE IF EXISTS %I CASCADE', r.typname);
  END LOOP;
END $$;
"""


def _psql_restore(url: str, path: Path) -> None:
    args, env = _pg_connection(url)
    # One transaction for the clearing and the dump: a failing statement leaves the database
    # as it was, never emptied or half restored.
    command = [
        _pg_tool("psql"),
        "--quiet",
        "--single-transaction",
        "-v",
        "ON_ERROR_STOP=1",
        "--command",
        _CLEAR_SCHEMA,
        "--file",
        str(path),
        *args,
    ]
    _run_tool(command, env, url)


def _sqlite_restore(backup: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    _sqlite_copy(backup, target)


async def restore_database(*, database: Database, path: Path) -> None:
    """Replace the database's content with the backup at `path`."""
    check_restore(database, path)
    # Pooled connections would keep the old schema cached (SQLite) or hold locks (PostgreSQL).
    await database.engine.dispose()
    if database.dialect == "sqlite":
        target = sqlite_path(database.url)
        if target is None:
            raise BackupError("cannot restore into an in-memory SQLite database")
        await asyncio.to_thread(_sqlite_restore, path, target)
    else:
        await asyncio.to_thread(_psql_restore, database.url, path)
