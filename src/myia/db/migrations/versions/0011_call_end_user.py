"""The end user a gateway call was made for (issue 23).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 22:10:00

`api_call_logs.end_user`: the `user` (or, without it, the `safety_identifier`) a client sent
with a `/v1/chat/completions` request, cut to 256 characters; null for every other call and
for the rows written before this revision. It may identify a person: only admins see it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_call_logs") as batch:
        batch.add_column(sa.Column("end_user", sa.String(length=256), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_call_logs") as batch:
        batch.drop_column("end_user")
