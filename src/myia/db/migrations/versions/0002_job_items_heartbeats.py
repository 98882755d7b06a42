"""Certification job items (the units of work) and worker heartbeats.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 16:10:10.840744
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from myia.db.types import UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "worker_heartbeats",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("hostname", sa.String(length=200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("engine", sa.String(length=20), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("active_items", sa.Integer(), nullable=False),
        sa.Column("processed_items", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worker_heartbeats")),
    )
    op.create_table(
        "certification_job_items",
        sa.Column("job_id", sa.String(length=36), nullable=False),
        sa.Column("deployment_id", sa.String(length=36), nullable=False),
        sa.Column("region", sa.String(length=50), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "QUEUED", "PROCESSING", "COMPLETED", "FAILED", "CANCELLED", name="job_item_status"
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("throttled", sa.Integer(), nullable=False),
        sa.Column("queue_job_id", sa.String(length=100), nullable=True),
        sa.Column("available_at", UTCDateTime(), nullable=True),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("claimed_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("certification_id", sa.String(length=36), nullable=True),
        sa.Column("outcome", sa.String(length=30), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["model_deployments.id"],
            name=op.f("fk_certification_job_items_deployment_id_model_deployments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["certification_jobs.id"],
            name=op.f("fk_certification_job_items_job_id_certification_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certification_job_items")),
        sa.UniqueConstraint(
            "job_id",
            "deployment_id",
            "region",
            name=op.f("uq_certification_job_items_job_id_deployment_id_region"),
        ),
    )
    with op.batch_alter_table("certification_job_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_certification_job_items_job_id_status"),
            ["job_id", "status"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_certification_job_items_status"), ["status"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("certification_job_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certification_job_items_status"))
        batch_op.drop_index(batch_op.f("ix_certification_job_items_job_id_status"))

    op.drop_table("certification_job_items")
    sa.Enum(name="job_item_status").drop(op.get_bind(), checkfirst=True)
    op.drop_table("worker_heartbeats")
