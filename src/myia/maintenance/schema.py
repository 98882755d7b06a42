"""The schema as the database has it: tables, Alembic revision, migrate and drop-all."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Enum, inspect, text
from sqlalchemy.engine import Connection

import myia.db.models  # noqa: F401  (registers every table on Base.metadata)
from myia.db.base import Base
from myia.db.engine import Database
from myia.db.migrate import current_revision, downgrade_async, head_revision, upgrade_async
from myia.errors import MyIAError

ALEMBIC_TABLE = "alembic_version"


# How an operator reads them (seed 000 groups by domain); a table added later without being
# listed here still shows, at the end.
_DISPLAY_ORDER = (
    "users",
    "user_settings",
    "user_provider_credentials",
    "provider_credential_validations",
    "providers",
    "base_models",
    "model_deployments",
    "model_certifications",
    "certification_jobs",
    "chats",
    "messages",
    "api_call_logs",
    "system_metrics",
    "logs",
)


def expected_tables() -> list[str]:
    """The tables of schema v2 (Base.metadata), grouped by domain."""
    rank = {name: index for index, name in enumerate(_DISPLAY_ORDER)}
    return sorted(Base.metadata.tables, key=lambda name: (rank.get(name, len(rank)), name))


def _enum_type_names() -> set[str]:
    return {
        column.type.name
        for table in Base.metadata.tables.values()
        for column in table.columns
        if isinstance(column.type, Enum) and column.type.name
    }


@dataclass(frozen=True)
class SchemaState:
    found: list[str]
    missing: list[str]
    extra: list[str]
    revision: str | None
    head: str

    @property
    def expected_count(self) -> int:
        return len(self.found) + len(self.missing)

    @property
    def at_head(self) -> bool:
        return self.revision == self.head

    @property
    def complete(self) -> bool:
        return not self.missing and self.at_head


async def table_names(database: Database) -> list[str]:
    """Every table in the database's default schema, Alembic's own included."""
    async with database.engine.connect() as connection:
        names: list[str] = await connection.run_sync(lambda c: inspect(c).get_table_names())
    return sorted(names)


async def schema_state(database: Database) -> SchemaState:
    present = set(await table_names(database))
    expected = expected_tables()
    revision = await current_revision(database) if ALEMBIC_TABLE in present else None
    return SchemaState(
        found=[name for name in expected if name in present],
        missing=[name for name in expected if name not in present],
        extra=sorted(present - set(expected) - {ALEMBIC_TABLE}),
        revision=revision,
        head=head_revision(),
    )


class SchemaNotReadyError(MyIAError):
    """The database is not at the schema this version of MyIA expects."""


async def require_schema(database: Database) -> SchemaState:
    """The schema state, or SchemaNotReadyError saying which command fixes it."""
    state = await schema_state(database)
    if not state.complete:
        raise SchemaNotReadyError(
            f"the database schema is not ready ({len(state.found)}/{state.expected_count} "
            f"tables, revision {state.revision or 'none'}, head {state.head}): "
            "run `myia db migrate` first (`myia db diagnose` tells more)"
        )
    return state


async def migrate_database(
    *, database: Database, revision: str = "head"
) -> tuple[str | None, str | None]:
    """Upgrade to `revision`; return the Alembic revision before and after."""
    before = await schema_state(database)
    # Alembic runs its own engine; idle pooled connections of ours would only get in the way
    # of DDL locks (PostgreSQL) or hold a stale view of the file (SQLite).
    await database.engine.dispose()
    await upgrade_async(database, revision)
    return before.revision, await current_revision(database)


def _drop_everything(connection: Connection) -> list[str]:
    names = sorted(inspect(connection).get_table_names())
    quote = connection.dialect.identifier_preparer.quote
    if connection.dialect.name == "postgresql":
        for name in names:
            connection.execute(text(f"DROP TABLE IF EXISTS {quote(name)} CASCADE"))
        # Native enum types outlive their tables and would make the next migration fail.
        for type_name in sorted(_enum_type_names()):
            connection.execute(text(f"DROP TYPE IF EXISTS {quote(type_name)} CASCADE"))
    else:
        # SQLite has no CASCADE: without this, a leftover child table blocks its parent's drop.
        connection.execute(text("PRAGMA foreign_keys=OFF"))
        for name in names:
            connection.execute(text(f"DROP TABLE IF EXISTS {quote(name)}"))
        connection.execute(text("PRAGMA foreign_keys=ON"))
    return names


async def drop_all_tables(*, database: Database) -> tuple[bool, list[str]]:
    """Downgrade to base, then drop whatever is left (tables Alembic did not know about).

    Returns whether the Alembic downgrade succeeded and the tables dropped by hand. A
    half-migrated database (tables removed outside migrations) cannot be downgraded; the
    direct drop still leaves it empty.
    """
    await database.engine.dispose()
    try:
        await downgrade_async(database, "base")
        downgraded = True
    except Exception:  # a damaged schema is the common reason to reset: fall through
        downgraded = False
    await database.engine.dispose()
    async with database.engine.begin() as connection:
        leftovers = await connection.run_sync(_drop_everything)
    return downgraded, leftovers
