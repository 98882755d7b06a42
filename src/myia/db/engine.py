"""Engines and sessions for SQLite (aiosqlite) and PostgreSQL (asyncpg)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

_ASYNC_DRIVERS = {
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
}


def normalize_url(url: str) -> str:
    """Accept plain `postgresql://` / `sqlite://` URLs and pick the async driver."""
    parsed = make_url(url)
    driver = _ASYNC_DRIVERS.get(parsed.drivername)
    if driver:
        parsed = parsed.set(drivername=driver)
    return parsed.render_as_string(hide_password=False)


IMMEDIATE = "myia_sqlite_immediate"


def sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # SQLite ignores ON DELETE CASCADE unless foreign keys are switched on per connection.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
    # Let SQLAlchemy, not the driver, open transactions (see _begin_immediate).
    dbapi_connection.isolation_level = None


def _begin(connection: Any) -> None:
    # A deferred transaction that reads and then writes cannot wait for the write lock:
    # SQLite fails it with "database is locked" at once when another connection wrote
    # meanwhile (seen with concurrent queue workers and API calls). Ordinary sessions take
    # the lock at BEGIN and queue up under busy_timeout; `Database.read_session()` stays
    # deferred for long-lived readers, which must then not write under contention.
    immediate = connection.get_execution_options().get(IMMEDIATE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    url = normalize_url(url)
    path = sqlite_path(url)
    # Off for operator commands that must create nothing (maintenance.connection).
    create_directory = kwargs.pop("create_directory", True)
    if path is not None:
        if create_directory:
            path.parent.mkdir(parents=True, exist_ok=True)
    else:
        kwargs.setdefault("pool_pre_ping", True)
        # SQLAlchemy's default (5 kept + 10 overflow) queues a busy server's requests behind
        # 15 connections and closes and reopens the overflow ones on every burst (64
        # concurrent clients in bench/load.py). 20 kept + 20 overflow per process stays well
        # under PostgreSQL's default max_connections of 100 for a server and a worker.
        if make_url(url).get_backend_name() == "postgresql":
            kwargs.setdefault("pool_size", 20)
            kwargs.setdefault("max_overflow", 20)
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
        event.listen(engine.sync_engine, "begin", _begin)
    return engine


class Database:
    """An engine and its session factory; one per process and database URL."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = normalize_url(url)
        self.engine = create_engine(self.url, **engine_kwargs)
        # On SQLite every transaction of an ordinary session begins IMMEDIATE (see _begin);
        # `read_session()` shares the pool but stays deferred.
        self.sessionmaker = async_sessionmaker(
            self.engine.execution_options(**{IMMEDIATE: True}), expire_on_commit=False
        )
        self._read_sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessionmaker() as session:
            yield session

    @asynccontextmanager
    async def read_session(self) -> AsyncIterator[AsyncSession]:
        """A session whose SQLite transactions do not take the write lock: for long-lived
        readers (tests holding a session across API calls). Writing from it under
        contention can fail with "database is locked"."""
        async with self._read_sessionmaker() as session:
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
