"""Certification that stays true: per-region observations, latency percentiles, samples.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from myia.db.types import JSONType

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FLOATS = (
    "partial_rating",
    "latency_p50_ms",
    "latency_p95_ms",
    "ttft_p50_ms",
    "tool_schema_accuracy",
    "tool_trigger_f1",
)
_COUNTERS = ("transient_errors", "throttled_calls", "inconclusive_tests")


def upgrade() -> None:
    with op.batch_alter_table("model_certifications") as batch:
        for name in _FLOATS:
            batch.add_column(sa.Column(name, sa.Float(), nullable=True))
        batch.add_column(sa.Column("observed_capabilities", JSONType, nullable=True))
        for name in _COUNTERS:
            batch.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("model_certifications") as batch:
        for name in (*_COUNTERS, "observed_capabilities", *reversed(_FLOATS)):
            batch.drop_column(name)
