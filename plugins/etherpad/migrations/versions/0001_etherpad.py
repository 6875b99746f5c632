"""The outbox of pad operations and each meeting's pad.

Revision ID: etherpad_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "etherpad_0001"
down_revision: str | None = None
branch_labels: tuple[str, ...] | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "etherpad_outbox",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("server", sa.String(64), nullable=False),
        sa.Column("pad", sa.String(255), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("network", sa.String(64), nullable=False),
        sa.Column("room", sa.String(255), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(
        "ix_etherpad_outbox_pad_state", "etherpad_outbox", ["server", "pad", "state", "id"]
    )
    op.create_table(
        "etherpad_meeting_pads",
        sa.Column("meeting_id", sa.Integer(), primary_key=True),
        sa.Column("network", sa.String(64), nullable=False),
        sa.Column("room", sa.String(255), nullable=False),
        sa.Column("meeting_name", sa.String(255), nullable=False),
        sa.Column("chairs", sa.JSON(), nullable=False),
        sa.Column("server", sa.String(64), nullable=True),
        sa.Column("pad", sa.String(255), nullable=True),
        sa.Column("open", sa.Boolean(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("etherpad_meeting_pads")
    op.drop_index("ix_etherpad_outbox_pad_state", "etherpad_outbox")
    op.drop_table("etherpad_outbox")
