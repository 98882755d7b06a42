"""Chat and gateway: API keys, nullable prices.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 15:30:00

`api_keys` holds the gateway's per-user keys (hashed). Deployment prices become nullable: an
unknown price is NULL, never 0, so an unpriced deployment cannot pass for the cheapest.
Downgrading writes 0 back into unknown prices, which is what the old schema could hold.
"""

import contextlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from myia.db.types import UTCDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=20), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_keys_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_index(op.f("ix_api_keys_user_id"), "api_keys", ["user_id"], unique=False)
    _set_price_nullable(True)


def _set_price_nullable(nullable: bool) -> None:
    # SQLite alters a column by rebuilding the table; dropping the old `model_deployments`
    # with foreign keys enforced would cascade-delete every certification and job item (and
    # null the telemetry's references). The pragma only takes effect outside a transaction.
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        _sqlite_pragma("foreign_keys=OFF")
    with op.batch_alter_table("model_deployments") as batch:
        batch.alter_column("cost_per_1m_input", existing_type=sa.Float(), nullable=nullable)
        batch.alter_column("cost_per_1m_output", existing_type=sa.Float(), nullable=nullable)
    if sqlite:
        _sqlite_pragma("foreign_keys=ON")


def _sqlite_pragma(pragma: str) -> None:
    # Straight to the driver: the migration may run inside a caller's transaction (shared
    # connection) and MyIA's engine emits BEGIN itself (myia.db.engine._begin), so end the
    # open transaction, set the pragma, and open a new one for the caller to commit.
    cursor = op.get_bind().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        with contextlib.suppress(Exception):  # no transaction open: nothing to end
            cursor.execute("COMMIT")
        cursor.execute(f"PRAGMA {pragma}")
        cursor.execute("BEGIN")
    finally:
        cursor.close()


def downgrade() -> None:
    op.execute("UPDATE model_deployments SET cost_per_1m_input = 0 WHERE cost_per_1m_input IS NULL")
    op.execute(
        "UPDATE model_deployments SET cost_per_1m_output = 0 WHERE cost_per_1m_output IS NULL"
    )
    _set_price_nullable(False)
    op.drop_index(op.f("ix_api_keys_user_id"), table_name="api_keys")
    op.drop_table("api_keys")
