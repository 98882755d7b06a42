"""Catalog badges: a covering index on the columns a certification badge shows.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 19:30:00

A catalog page of 50 base models reads the certifications of its ~250 deployments (~1,500
rows of 60,000 on the bench dataset, issue 22). Through the unique (deployment_id, region)
index each of those rows is a heap fetch the planner prices as a random read, so PostgreSQL
chose a sequential scan of the whole table instead (10–20 ms per page, growing with the
table). With the seven badge columns in the index the lookups are index-only scans (once
vacuum has set the visibility map, as autovacuum does), the plan is a nested loop over the
page's deployments, and the cost follows the page, not the table. Plain key columns (no
INCLUDE) so the same index serves SQLite.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "ix_model_certifications_badges"
COLUMNS = ["deployment_id", "region", "status", "badge", "rating", "certified_at", "expires_at"]


def upgrade() -> None:
    op.create_index(NAME, "model_certifications", COLUMNS, unique=False)


def downgrade() -> None:
    op.drop_index(NAME, table_name="model_certifications")
