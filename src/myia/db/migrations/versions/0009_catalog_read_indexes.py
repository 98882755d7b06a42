"""Cold catalog pages (issue 22): a covering index for certification badges, and statistics
for name searches.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 19:30:00

- `ix_model_certifications_badges` (deployment_id, region and the five other columns a badge
  shows). A page of 50 base models reads the certifications of its ~250 deployments (~1,500
  of 60,000 rows on the bench dataset). Through the unique (deployment_id, region) index
  each row is a heap fetch the planner prices as a random read, so PostgreSQL scanned the
  whole table instead (10–20 ms per page, growing with the table). With the badge columns
  in the index the lookups are index-only scans (once vacuum has set the visibility map, as
  autovacuum does), the plan a nested loop over the page's deployments: the cost follows
  the page, not the table. Plain key columns (no INCLUDE) so the same index serves SQLite.
- `ix_base_models_name_lower` on lower(name), what `q=` matches (`lower(name) LIKE '%…%'`).
  A b-tree cannot serve a search with a leading wildcard; this index is there for the
  statistics ANALYZE keeps on an index expression. Without them PostgreSQL guessed that one
  model matches any search and sorted every match to take a page; with them a broad search
  walks the name index and stops after the page (6 ms → 0.4 ms when all 2,000 match).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BADGES = "ix_model_certifications_badges"
BADGE_COLUMNS = [
    "deployment_id", "region", "status", "badge", "rating", "certified_at", "expires_at",
]  # fmt: skip
NAME_LOWER = "ix_base_models_name_lower"


def upgrade() -> None:
    op.create_index(BADGES, "model_certifications", BADGE_COLUMNS, unique=False)
    op.create_index(NAME_LOWER, "base_models", [sa.text("lower(name)")], unique=False)


def downgrade() -> None:
    op.drop_index(NAME_LOWER, table_name="base_models")
    op.drop_index(BADGES, table_name="model_certifications")
