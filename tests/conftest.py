"""Shared fixtures: every DB test runs on SQLite and on PostgreSQL, each on a fresh database.

PostgreSQL databases are cloned from a template migrated once per session (CREATE DATABASE
… TEMPLATE is much faster than migrating each time); SQLite files are copied the same way.
Under CI=true a missing PostgreSQL or Redis fails the run instead of skipping.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
import redis
from fastapi import FastAPI
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from myia.api.app import create_app
from myia.config import Settings
from myia.db.engine import Database
from myia.db.migrate import upgrade

PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
# Under pytest-xdist (`make test` runs `-n 2`) every worker is a session of its own, named
# gw0, gw1, …: worker N gets Redis database 15 - N, so fixed keys (login throttling per
# address, rate limits) never meet another worker's. PostgreSQL databases are per process.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
WORKER_INDEX = int(XDIST_WORKER[2:]) if XDIST_WORKER.startswith("gw") else 0


def _worker_redis_url(url: str) -> str:
    parsed = urlsplit(url)
    base = int(parsed.path.strip("/") or 0)
    if base < WORKER_INDEX:
        raise RuntimeError(f"{url}: no Redis database left for xdist worker {XDIST_WORKER}")
    return urlunsplit(parsed._replace(path=f"/{base - WORKER_INDEX}"))


REDIS_URL = _worker_redis_url(os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))
IN_CI = os.environ.get("CI", "").lower() == "true"
# The simulator, servers and throwaway services the simulator-driven folders share.
pytest_plugins = ["tests.sim_support"]


# --- the suite does not depend on the shell it runs in -------------------------------------
# An operator's shell may export MYIA_MODE=production, JWT_SECRET, ENCRYPTION_SECRET, REDIS_URL
# (docs/operations.md tells them to). Every setting the app reads is dropped here, before any
# Settings() or child process is made, so servers get exactly what each test gives them.
_APP_SETTINGS = {
    field.validation_alias
    for field in Settings.model_fields.values()
    if isinstance(field.validation_alias, str)
}
# Provider keys a shell may hold: the server would use them as the platform's own credentials.
_SHELL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
}
for _name in list(os.environ):
    if _name in _APP_SETTINGS or _name in _SHELL_CREDENTIALS or _name.endswith("_API_KEY"):
        del os.environ[_name]

os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
os.environ["MYIA_MODE"] = "test"
# The app's periodic system_metrics rollup (myia/metrics/rollup.py) would add rows to a test's
# database whenever a minute turned; tests/metrics/test_rollup.py runs it on purpose.
os.environ["METRICS_ROLLUP_INTERVAL_S"] = "0"

# --- real network calls are refused: only loopback and unix sockets ------------------------
_real_connect = socket.socket.connect


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if self.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            raise ConnectionRefusedError(f"tests may not reach {host}: loopback only")
    return _real_connect(self, address)


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]


# --- service availability ------------------------------------------------------------------
def require(service: str, available: bool) -> None:
    if available:
        return
    if IN_CI:
        pytest.fail(f"{service} is not reachable and CI=true: refusing to skip", pytrace=False)
    pytest.skip(f"{service} not reachable")


def _pg_url(database: str) -> str:
    return make_url(PG_ADMIN_URL).set(database=database).render_as_string(hide_password=False)


async def _pg_admin(*statements: str) -> None:
    dsn = PG_ADMIN_URL.replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(dsn, timeout=5)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


@pytest.fixture(scope="session")
def pg_available() -> bool:
    try:
        _run(_pg_admin("SELECT 1"))
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
        available = True
    except Exception:
        available = False
    require("Redis", available)
    return REDIS_URL


@pytest.fixture(scope="session")
def pg_template(pg_available: bool) -> Iterator[str | None]:
    if not pg_available:
        yield None
        return
    name = f"myia_tpl_{os.getpid()}"
    _run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"'))
    upgrade(_pg_url(name))
    yield name
    _run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite_template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_template: Path,
    pg_template: str | None,
) -> Iterator[str]:
    """A fresh, migrated database for one test, on each backend in turn."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copyfile(sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    require("PostgreSQL", pg_template is not None)
    name = f"myia_t_{uuid.uuid4().hex[:12]}"
    _run(_pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    yield _pg_url(name)
    _run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def database(db_url: str) -> AsyncIterator[Database]:
    db = Database(db_url)
    yield db
    await db.dispose()


@pytest.fixture
async def session(database: Database) -> AsyncIterator[AsyncSession]:
    # Deferred on SQLite: tests hold this session across API calls that write.
    async with database.read_session() as s:
        yield s


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "MYIA_MODE": "test",
        "REDIS_URL": None,
        "QUEUE_URL": None,
        "LOG_TO_DB": False,
        "QUEUE_WORKERS_ENABLED": False,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(db_url: str) -> Settings:
    return make_settings(DATABASE_URL=db_url)


@pytest.fixture
async def app(settings: Settings, database: Database) -> AsyncIterator[FastAPI]:
    application = create_app(settings, database)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c
