"""Migration 0010 (prices with a source): up over a catalog of 0009, down and up again, the
deployments and their prices kept; the price source enum type leaves with the downgrade."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import TextClause, bindparam, inspect, text

from myia.db.engine import Database
from myia.db.migrate import current_revision, downgrade_async, head_revision, upgrade_async
from myia.db.types import UTCDateTime

NOW = datetime(2026, 12, 4, tzinfo=UTC)


def _sql(statement: str) -> TextClause:
    """`:now` bound as the schema's own date-time type, on either backend."""
    return text(statement).bindparams(bindparam("now", type_=UTCDateTime()))


async def _columns(database: Database, table: str) -> set[str]:
    async with database.engine.connect() as connection:
        found = await connection.run_sync(lambda c: inspect(c).get_columns(table))
    return {column["name"] for column in found}


async def _tables(database: Database) -> set[str]:
    async with database.engine.connect() as connection:
        return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))


async def _enum_types(database: Database) -> set[str]:
    if database.engine.dialect.name != "postgresql":
        return set()
    async with database.engine.connect() as connection:
        rows = await connection.execute(text("SELECT typname FROM pg_type WHERE typtype = 'e'"))
        return {row[0] for row in rows}


async def test_0010_up_down_up_keeps_the_priced_catalog(db_url: str) -> None:
    database = Database(db_url)
    try:
        await downgrade_async(database, "0009")
        assert "price_history" not in await _tables(database)
        async with database.engine.begin() as connection:
            await connection.execute(
                _sql(
                    "INSERT INTO providers (id, slug, name, auth_type, is_simulated, is_active,"
                    " created_at, updated_at) VALUES ('p1', 'acme', 'Acme', 'api_key', false,"
                    " true, :now, :now)"
                ),
                {"now": NOW},
            )
            await connection.execute(
                _sql(
                    "INSERT INTO base_models (id, name, vendor, capabilities, deprecated,"
                    " created_at, updated_at) VALUES ('m1', 'Anvil', 'acme', '{}', false,"
                    " :now, :now)"
                ),
                {"now": NOW},
            )
            await connection.execute(
                _sql(
                    "INSERT INTO model_deployments (id, base_model_id, provider_id, deployment_id,"
                    " inference_type, cost_per_1m_input, cost_per_1m_output, is_active,"
                    " created_at, updated_at) VALUES ('d1', 'm1', 'p1', 'anvil-1', 'ON_DEMAND',"
                    " 1.5, 2.5, true, :now, :now)"
                ),
                {"now": NOW},
            )

        await upgrade_async(database)
        assert {"deployment_prices", "price_history"} <= await _tables(database)
        assert {"price_source_kind", "price_source_name", "price_source_url", "price_as_of"} <= (
            await _columns(database, "model_deployments")
        )
        async with database.engine.begin() as connection:
            row = (
                await connection.execute(
                    text(
                        "SELECT cost_per_1m_input, price_source_kind, price_as_of"
                        " FROM model_deployments WHERE id = 'd1'"
                    )
                )
            ).one()
            # A price written before 0010 keeps its figure and has no source yet (the check
            # reports it as undated).
            assert tuple(row) == (1.5, None, None)
            await connection.execute(
                _sql(
                    "INSERT INTO price_history (id, deployment_id, new_input, new_output,"
                    " source_kind, via, changed_at) VALUES ('h1', 'd1', 1.5, 2.5, 'operator',"
                    " 'cli', :now)"
                ),
                {"now": NOW},
            )
        if database.engine.dialect.name == "postgresql":
            assert "price_source_kind" in await _enum_types(database)

        await downgrade_async(database, "0009")
        assert not {"deployment_prices", "price_history"} & await _tables(database)
        assert "price_as_of" not in await _columns(database, "model_deployments")
        assert "price_source_kind" not in await _enum_types(database)
        async with database.engine.connect() as connection:
            kept = await connection.scalar(
                text("SELECT cost_per_1m_input FROM model_deployments WHERE id = 'd1'")
            )
        assert kept == 1.5

        await upgrade_async(database)
        assert await current_revision(database) == head_revision()
    finally:
        await database.dispose()
