"""Chat and telemetry: message status, call-log fields.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 15:30:00

`messages.status` lets an assistant row be written before the provider call (`streaming`)
and finalised after, so a server that dies mid-stream leaves it `interrupted`, not lost;
`cost_note` says why a cost is null; `api_call_logs` gains time to first token and an index
for the metrics' per-operation windows.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=20), server_default="complete", nullable=False)
        )
        batch_op.add_column(sa.Column("cost_note", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("error", sa.Text(), nullable=True))
    with op.batch_alter_table("api_call_logs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cost_note", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("time_to_first_token_ms", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_api_call_logs_operation_created_at"),
            ["operation", "created_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("api_call_logs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_call_logs_operation_created_at"))
        batch_op.drop_column("time_to_first_token_ms")
        batch_op.drop_column("cost_note")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("error")
        batch_op.drop_column("cost_note")
        batch_op.drop_column("status")
