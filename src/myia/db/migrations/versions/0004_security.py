"""Hostile input and secrets: no schema change.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 15:30:00

Intentionally empty: login failures and lockouts live in Redis (or in process memory without
REDIS_URL), not in a table. The revision stays so that databases already at 0004 upgrade.
"""

from collections.abc import Sequence

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
