"""What certification spends, and the cap a job may spend (issue 24, point 5).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 22:20:00

- `certification_jobs.max_cost_usd`: the job's cap in USD (null: no cap); `spent_usd`: what
  its items' provider calls cost (priced items only); `reserved_usd`: the estimated maximum of
  the items running now, held against the cap until each settles to its actual cost.
- `certification_job_items.cost_usd` (null when the deployment is unpriced, `cost_reason`
  then says "unpriced"), `tokens_in`, `tokens_out`: every attempt of the item added up;
  `reserved_usd`: the part of the job's reservation this item holds while it runs.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _zero(name: str) -> sa.Column[float]:
    return sa.Column(name, sa.Float(), nullable=False, server_default="0")


def upgrade() -> None:
    with op.batch_alter_table("certification_jobs") as batch:
        batch.add_column(sa.Column("max_cost_usd", sa.Float(), nullable=True))
        batch.add_column(_zero("spent_usd"))
        batch.add_column(_zero("reserved_usd"))
    with op.batch_alter_table("certification_job_items") as batch:
        batch.add_column(sa.Column("cost_usd", sa.Float(), nullable=True))
        batch.add_column(sa.Column("cost_reason", sa.String(length=30), nullable=True))
        batch.add_column(sa.Column("tokens_in", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("tokens_out", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(_zero("reserved_usd"))


def downgrade() -> None:
    with op.batch_alter_table("certification_job_items") as batch:
        for name in ("reserved_usd", "tokens_out", "tokens_in", "cost_reason", "cost_usd"):
            batch.drop_column(name)
    with op.batch_alter_table("certification_jobs") as batch:
        for name in ("reserved_usd", "spent_usd", "max_cost_usd"):
            batch.drop_column(name)
