"""Session revocation: a per-user session version.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 10:00:00

Every bearer token and web session carries the version its user had when it was issued
(`sv` claim); `users.session_version` is raised by a logout, a password reset, a role change
and disabling the account, and a token whose version is no longer the user's is refused
(`auth/principal.py`, `web/deps.py`). Existing rows start at 0, which is also what a token
issued before this revision is taken to carry: those stay valid until the first revocation.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("session_version", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_version")
