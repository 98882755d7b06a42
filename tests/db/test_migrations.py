"""Migrations take an empty database to head on both backends, and back down."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from myia.db.base import Base
from myia.db.engine import Database
from myia.db.migrate import current_revision, downgrade_async, head_revision, upgrade_async

EXPECTED_TABLES = {
    "providers",
    "base_models",
    "model_deployments",
    "model_certifications",
    "certification_jobs",
    "certification_job_items",
    "worker_heartbeats",
    "system_metrics",
    "users",
    "user_settings",
    "user_provider_credentials",
    "provider_credential_validations",
    "chats",
    "messages",
    "api_call_logs",
    "api_keys",
    "logs",
    "deployment_prices",
    "price_history",
}


async def _tables(database: Database) -> set[str]:
    async with database.engine.connect() as connection:
        names = await connection.run_sync(lambda c: inspect(c).get_table_names())
    return set(names) - {"alembic_version"}


async def test_template_is_at_head_with_every_table(database: Database) -> None:
    assert await current_revision(database) == head_revision()
    assert await _tables(database) == EXPECTED_TABLES
    assert set(Base.metadata.tables) == EXPECTED_TABLES


async def test_downgrade_to_empty_and_upgrade_again(db_url: str) -> None:
    database = Database(db_url)
    try:
        await downgrade_async(database, "base")
        assert await _tables(database) == set()
        await upgrade_async(database)
        assert await _tables(database) == EXPECTED_TABLES
        assert await current_revision(database) == head_revision()
    finally:
        await database.dispose()


async def test_schema_keys_and_cascade(database: Database) -> None:
    def read(connection: object) -> dict[str, object]:
        insp = inspect(connection)
        return {
            "deploy_unique": insp.get_unique_constraints("model_deployments"),
            "cert_unique": insp.get_unique_constraints("model_certifications"),
            "cert_fks": insp.get_foreign_keys("model_certifications"),
            "deploy_indexes": {i["name"] for i in insp.get_indexes("model_deployments")},
        }

    async with database.engine.connect() as connection:
        info = await connection.run_sync(read)
    assert {"provider_id", "deployment_id"} == set(info["deploy_unique"][0]["column_names"])  # type: ignore[index]
    assert {"deployment_id", "region"} == set(info["cert_unique"][0]["column_names"])  # type: ignore[index]
    fk = info["cert_fks"][0]  # type: ignore[index]
    assert fk["referred_table"] == "model_deployments"
    assert fk["options"].get("ondelete") == "CASCADE"
    assert {"ix_model_deployments_base_model_id", "ix_model_deployments_inference_type"} <= info[
        "deploy_indexes"
    ]  # type: ignore[operator]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_postgres_uses_native_enums(database: Database) -> None:
    from sqlalchemy import text

    async with database.engine.connect() as connection:
        rows = await connection.execute(text("SELECT typname FROM pg_type WHERE typtype = 'e'"))
        names = {row[0] for row in rows}
    assert {"inference_type", "certification_status", "job_status", "user_role"} <= names


async def test_models_and_migrations_do_not_drift(database: Database) -> None:
    """Autogenerate against a migrated database finds nothing: the ORM and migrations agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    def diff(connection: object) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})  # type: ignore[arg-type]
        return list(compare_metadata(context, Base.metadata))

    async with database.engine.connect() as connection:
        changes = await connection.run_sync(diff)
    assert changes == []
