"""Databases in the states maintenance must cope with: absent/empty, half-migrated, seeded.

The migrated ones come from conftest's `db_url`; this module adds an empty one on each
backend (reusing conftest's PostgreSQL admin helpers) and small sync/async utilities.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import func, select, table, text

from myia.db.engine import Database
from myia.maintenance.seed import SeedReport, seed_database
from tests.conftest import _pg_admin, _pg_url, require

# Leaf tables first, so dropping them leaves no dangling foreign key on SQLite.
HALF_DROPPED = ("api_call_logs", "messages", "chats")


@contextmanager
def empty_database(backend: str, tmp_path: Path, pg_available: bool) -> Iterator[str]:
    """A URL to a database with no tables at all (SQLite: a file that does not exist yet)."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    require("PostgreSQL", pg_available)
    name = f"myia_e_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield _pg_url(name)
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def drop_tables_async(url: str, names: tuple[str, ...] = HALF_DROPPED) -> None:
    """Break a migrated schema behind Alembic's back (the "half-migrated" database)."""
    database = Database(url)
    try:
        async with database.engine.begin() as connection:
            for name in names:
                await connection.execute(text(f'DROP TABLE "{name}"'))
    finally:
        await database.dispose()


async def row_counts_async(url: str, names: list[str]) -> dict[str, int]:
    database = Database(url)
    try:
        async with database.engine.connect() as connection:
            return {
                name: int(
                    (
                        await connection.execute(select(func.count()).select_from(table(name)))
                    ).scalar_one()
                )
                for name in names
            }
    finally:
        await database.dispose()


async def seed_async(url: str, *, demo: bool = True) -> SeedReport:
    database = Database(url)
    try:
        async with database.session() as session:
            return await seed_database(session=session, demo=demo)
    finally:
        await database.dispose()


def drop_tables(url: str, names: tuple[str, ...] = HALF_DROPPED) -> None:
    asyncio.run(drop_tables_async(url, names))


def row_counts(url: str, names: list[str]) -> dict[str, int]:
    return asyncio.run(row_counts_async(url, names))


def seed(url: str, *, demo: bool = True) -> SeedReport:
    return asyncio.run(seed_async(url, demo=demo))


async def execute_async(url: str, statement: str) -> None:
    database = Database(url)
    try:
        async with database.engine.begin() as connection:
            await connection.execute(text(statement))
    finally:
        await database.dispose()


def execute(url: str, statement: str) -> None:
    asyncio.run(execute_async(url, statement))
