"""Prices with a source and a date, regional prices, price history (issue 27).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 21:24:07

- `model_deployments` gains `price_source_kind` (bundled | operator | discovery),
  `price_source_name`, `price_source_url` and `price_as_of`: where its price was read and when.
- `deployment_prices`: a deployment's price in one region or geography where the provider
  prices it differently (unique per deployment and region).
- `price_history`: one row per price change, old and new values with the new source, written
  by every path that changes a price (myia.catalog.price_history).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from myia.db.types import UTCDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KIND_NAME = "price_source_kind"
KIND_VALUES = ("bundled", "operator", "discovery")


def _kind() -> sa.types.TypeEngine[str]:
    # The PostgreSQL type is created once, up front: three tables share it.
    return sa.Enum(*KIND_VALUES, name=KIND_NAME).with_variant(
        postgresql.ENUM(*KIND_VALUES, name=KIND_NAME, create_type=False), "postgresql"
    )


def _source_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("source_name", sa.String(length=200), nullable=True),
        sa.Column("source_url", sa.String(length=500), nullable=True),
        sa.Column("as_of", sa.Date(), nullable=True),
    ]


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        postgresql.ENUM(*KIND_VALUES, name=KIND_NAME).create(bind, checkfirst=True)
    op.create_table(
        "deployment_prices",
        sa.Column("deployment_id", sa.String(length=36), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("cost_per_1m_input", sa.Float(), nullable=False),
        sa.Column("cost_per_1m_output", sa.Float(), nullable=False),
        sa.Column("source_kind", _kind(), nullable=False),
        *_source_columns(),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["model_deployments.id"],
            name=op.f("fk_deployment_prices_deployment_id_model_deployments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deployment_prices")),
        sa.UniqueConstraint(
            "deployment_id", "region", name=op.f("uq_deployment_prices_deployment_id_region")
        ),
    )
    op.create_table(
        "price_history",
        sa.Column("deployment_id", sa.String(length=36), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=True),
        sa.Column("old_input", sa.Float(), nullable=True),
        sa.Column("old_output", sa.Float(), nullable=True),
        sa.Column("old_hour", sa.Float(), nullable=True),
        sa.Column("new_input", sa.Float(), nullable=True),
        sa.Column("new_output", sa.Float(), nullable=True),
        sa.Column("new_hour", sa.Float(), nullable=True),
        sa.Column("source_kind", _kind(), nullable=True),
        *_source_columns(),
        sa.Column("via", sa.String(length=32), nullable=False),
        sa.Column("changed_by", sa.String(length=200), nullable=True),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["model_deployments.id"],
            name=op.f("fk_price_history_deployment_id_model_deployments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_history")),
    )
    op.create_index(
        op.f("ix_price_history_deployment_id_changed_at"),
        "price_history",
        ["deployment_id", "changed_at"],
        unique=False,
    )
    with op.batch_alter_table("model_deployments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("price_source_kind", _kind(), nullable=True))
        batch_op.add_column(sa.Column("price_source_name", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("price_source_url", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("price_as_of", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("model_deployments", schema=None) as batch_op:
        batch_op.drop_column("price_as_of")
        batch_op.drop_column("price_source_url")
        batch_op.drop_column("price_source_name")
        batch_op.drop_column("price_source_kind")
    op.drop_index(op.f("ix_price_history_deployment_id_changed_at"), table_name="price_history")
    op.drop_table("price_history")
    op.drop_table("deployment_prices")
    # PostgreSQL keeps enum types after their tables are gone.
    sa.Enum(name=KIND_NAME).drop(op.get_bind(), checkfirst=True)
