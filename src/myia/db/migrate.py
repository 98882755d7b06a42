"""Run Alembic migrations programmatically (used by `myia db migrate`, the demo and tests)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from myia.db.engine import Database, normalize_url

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation would choke on a '%' in a password.
    config.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def upgrade(url: str, revision: str = "head") -> None:
    """Upgrade the database at `url` (blocking; env.py runs its own event loop)."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


async def upgrade_async(database: Database, revision: str = "head") -> None:
    """Upgrade from async code on the caller's loop (Alembic's connection sharing).

    Running the blocking `upgrade` on a thread instead would leave, when that thread ends,
    greenlet state of SQLAlchemy's async bridge to be torn down later — which hung a test
    run in greenlet's thread-state cleanup.
    """
    await _run_command(database, lambda config: command.upgrade(config, revision))


async def downgrade_async(database: Database, revision: str) -> None:
    await _run_command(database, lambda config: command.downgrade(config, revision))


async def _run_command(database: Database, run: Callable[[Config], None]) -> None:
    def with_connection(connection: Connection) -> None:
        config = alembic_config(database.url)
        config.attributes["connection"] = connection
        run(config)

    async with database.engine.begin() as connection:
        await connection.run_sync(with_connection)


async def current_revision(database: Database) -> str | None:
    def _read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with database.engine.connect() as connection:
        return await connection.run_sync(_read)
