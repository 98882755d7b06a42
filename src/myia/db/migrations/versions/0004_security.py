"""Hostile input and secrets: login attempts and lockout.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 15:30:00

Placeholder reserved for the hostile-input work (issue 14); its owner fills upgrade() and downgrade().
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
