"""Opening the configured database for maintenance, with errors an operator can act on.

A bad DATABASE_URL or a stopped PostgreSQL must end in one clear sentence, never a
traceback, and never with the URL's password in it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url

from myia.db.engine import Database, normalize_url, sqlite_path
from myia.errors import MyIAError

# asyncpg waits 60 s by default for an unreachable host; an operator command should not.
PG_CONNECT_TIMEOUT_S = 10


class DatabaseUnavailableError(MyIAError):
    """The database cannot be reached (bad URL, server down, missing database, …)."""


def _parse(url: str) -> URL | None:
    try:
        return make_url(url)
    except Exception:  # ArgumentError and friends: the URL is not even parseable
        return None


def mask_url(url: str) -> str:
    """The URL with its password replaced by ***, safe to print and log."""
    parsed = _parse(url)
    if parsed is None:
        return "<unparseable URL>"
    return parsed.render_as_string(hide_password=True)


def url_password(url: str) -> str | None:
    parsed = _parse(url)
    return None if parsed is None else parsed.password


def scrub(message: str, url: str) -> str:
    """Remove the URL's password from a message (drivers sometimes echo the DSN)."""
    password = url_password(url)
    return message.replace(password, "***") if password else message


def describe_error(exc: BaseException, url: str) -> str:
    """The driver's own first line, without SQLAlchemy's wrapper text or the password."""
    original = getattr(exc, "orig", None) or exc
    message = str(original).strip() or type(original).__name__
    message = message.splitlines()[0]
    if message.startswith("(") and ") " in message:  # "(sqlalchemy…Error) real message"
        message = message.split(") ", 1)[1]
    return scrub(message, url)


def backend_of(url: str) -> str:
    """`postgresql` or `sqlite` (or the raw dialect name of anything else)."""
    parsed = _parse(url)
    if parsed is None:
        return "unknown"
    return parsed.get_backend_name()


def open_database(url: str) -> Database:
    """A Database for `url`, or DatabaseUnavailableError naming what is wrong with the URL."""
    masked = mask_url(url)
    if _parse(url) is None:
        raise DatabaseUnavailableError(
            f"DATABASE_URL is not a valid database URL ({masked}); expected e.g. "
            "postgresql+asyncpg://user:password@host:5432/myia or sqlite+aiosqlite:///var/myia.db"
        )
    backend = backend_of(url)
    if backend not in ("postgresql", "sqlite"):
        raise DatabaseUnavailableError(
            f"unsupported database '{backend}' in DATABASE_URL ({masked}): "
            "MyIA runs on PostgreSQL or SQLite"
        )
    kwargs: dict[str, Any] = (
        {"connect_args": {"timeout": PG_CONNECT_TIMEOUT_S}}
        if backend == "postgresql"
        else {"create_directory": False}  # only connecting creates it (check_connection)
    )
    problem = _sqlite_path_problem(url)
    if problem is not None:
        raise DatabaseUnavailableError(f"cannot use DATABASE_URL {masked}: {problem}")
    try:
        return Database(url, **kwargs)
    except Exception as exc:  # driver import or engine construction: report, don't crash
        raise DatabaseUnavailableError(
            f"cannot use DATABASE_URL {masked}: {describe_error(exc, url)}"
        ) from exc


def _sqlite_path_problem(url: str) -> str | None:
    """Why the SQLite file of `url` can never be opened (a parent path is a file), or None."""
    try:
        path = sqlite_path(normalize_url(url))
    except Exception:
        return None
    if path is None:
        return None
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                return f"{parent} is a file, not a directory"
            return None
    return None


def missing_sqlite_file(url: str) -> Path | None:
    """The SQLite file the URL names when it does not exist yet (connecting would create it)."""
    path = sqlite_path(normalize_url(url))
    return path if path is not None and not path.exists() else None


async def check_connection(database: Database) -> None:
    """Run one query; raise DatabaseUnavailableError with the driver's reason if it fails."""
    # SQLite opens files lazily: only reading the catalog proves the file is a database.
    probe = "SELECT count(*) FROM sqlite_master" if database.dialect == "sqlite" else "SELECT 1"
    path = sqlite_path(database.url)
    try:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        async with database.engine.connect() as connection:
            await connection.execute(text(probe))
    except Exception as exc:  # any driver/OS error means "unreachable" to the operator
        hint = (
            "check DATABASE_URL and that PostgreSQL is running and accepts connections"
            if database.dialect == "postgresql"
            else "check DATABASE_URL and that the file's directory is writable"
        )
        raise DatabaseUnavailableError(
            f"cannot connect to the database at {mask_url(database.url)}: "
            f"{describe_error(exc, database.url)} ({hint})"
        ) from exc
