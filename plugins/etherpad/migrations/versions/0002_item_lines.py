"""Which meeting item a pad line is (so an edit or a redaction of it reaches the pad), and
operations that replace an earlier line instead of appending.

Revision ID: etherpad_0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "etherpad_0002"
down_revision: str | None = "etherpad_0001"
branch_labels: tuple[str, ...] | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("etherpad_outbox") as table:
        table.add_column(sa.Column("meeting_id", sa.Integer(), nullable=True))
        table.add_column(sa.Column("item_seq", sa.Integer(), nullable=True))
        table.add_column(sa.Column("replaces", sa.Integer(), nullable=True))
    op.create_index("ix_etherpad_outbox_item", "etherpad_outbox", ["meeting_id", "item_seq"])


def downgrade() -> None:
    op.drop_index("ix_etherpad_outbox_item", "etherpad_outbox")
    with op.batch_alter_table("etherpad_outbox") as table:
        table.drop_column("replaces")
        table.drop_column("item_seq")
        table.drop_column("meeting_id")
