"""Chat and gateway: API keys, nullable prices.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 15:30:00

Placeholder reserved for the chat and gateway work (issue 15); its owner fills upgrade() and downgrade().
"""

from collections.abc import Sequence

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
