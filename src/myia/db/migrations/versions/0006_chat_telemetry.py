"""Chat and telemetry: message status, call-log fields.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 15:30:00

Placeholder reserved for the chat and telemetry work (issue 15); its owner fills upgrade() and downgrade().
"""

from collections.abc import Sequence

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
