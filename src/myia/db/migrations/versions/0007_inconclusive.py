"""Inconclusive certifications: a status, and the give-backs that lead to it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 16:40:00

A work item whose core tests transient errors keep undecided is given back to the queue
without charging an attempt; `certification_job_items.transient_releases` counts those
give-backs so they are bounded (`QUEUE_TRANSIENT_RELEASES`), after which the certification
is recorded with the new status `INCONCLUSIVE`.

PostgreSQL stores the status as a native enum: the value is added with `ALTER TYPE … ADD
VALUE` (allowed inside a transaction since PostgreSQL 12, as long as the same transaction
does not use it). SQLite stores it as a string with no constraint. PostgreSQL cannot drop an
enum value: the downgrade turns INCONCLUSIVE rows into PENDING (no verdict either, and never
routed on) and leaves the unused value in the type.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TYPE certification_status ADD VALUE IF NOT EXISTS 'INCONCLUSIVE'")
    with op.batch_alter_table("certification_job_items") as batch:
        batch.add_column(
            sa.Column("transient_releases", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("certification_job_items") as batch:
        batch.drop_column("transient_releases")
    op.execute("UPDATE model_certifications SET status = 'PENDING' WHERE status = 'INCONCLUSIVE'")
