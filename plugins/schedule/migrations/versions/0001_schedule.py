"""Skips, reminders sent, open action items, kudos heard, leaderboard opt-outs.

Revision ID: schedule_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "schedule_0001"
down_revision: str | None = None
branch_labels: tuple[str, ...] | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "schedule_skips",
        sa.Column("meeting_id", sa.String(100), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("by", sa.String(320), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "schedule_sent",
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "schedule_actions",
        sa.Column("action_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("meeting", sa.Integer(), nullable=False, index=True),
        sa.Column("meeting_name", sa.String(100), nullable=False, index=True),
        sa.Column("network", sa.String(64), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("owners", sa.JSON(), nullable=False),
    )
    op.create_table(
        "schedule_kudos",
        sa.Column("kudos_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("network", sa.String(64), nullable=False),
        sa.Column("receiver_key", sa.String(255), nullable=False),
        sa.Column("receiver_nick", sa.String(255), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
    )
    op.create_table(
        "schedule_optouts",
        sa.Column("network", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "schedule_optouts", "schedule_kudos", "schedule_actions", "schedule_sent", "schedule_skips"
    ):  # fmt: skip
        op.drop_table(table)
