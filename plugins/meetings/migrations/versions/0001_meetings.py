"""Meetings, their line-by-line log and action items.

Revision ID: meetings_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "meetings_0001"
down_revision: str | None = None
branch_labels: tuple[str, ...] | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "meetings_meetings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("network", sa.String(64), nullable=False),
        sa.Column("room", sa.String(255), nullable=False),
        sa.Column("channel", sa.String(255), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("restricted", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("base", sa.String(512), nullable=True),
        sa.Column("summary", sa.JSON, nullable=True),
        sa.Column("source", sa.String(1024), nullable=True),
    )
    op.create_index("ix_meetings_meetings_name", "meetings_meetings", ["name"])
    op.create_table(
        "meetings_lines",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "meeting_id",
            sa.Integer,
            sa.ForeignKey("meetings_meetings.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("nick", sa.String(255), nullable=False),
        sa.Column("account", sa.String(255), nullable=True),
        sa.Column("display", sa.String(255), nullable=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("is_bot", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("msg_id", sa.String(255), nullable=True),
        sa.Column("target_id", sa.String(255), nullable=True),
    )
    op.create_index(
        "ix_meetings_lines_meeting_seq", "meetings_lines", ["meeting_id", "seq"], unique=True
    )
    op.create_table(
        "meetings_actions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "meeting_id",
            sa.Integer,
            sa.ForeignKey("meetings_meetings.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("owners", sa.JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False, server_default="open"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_by", sa.String(255), nullable=True),
    )
    op.create_index(
        "ix_meetings_actions_meeting_seq", "meetings_actions", ["meeting_id", "seq"], unique=True
    )
    op.create_index("ix_meetings_actions_state", "meetings_actions", ["state"])


def downgrade() -> None:
    op.drop_table("meetings_actions")
    op.drop_table("meetings_lines")
    op.drop_table("meetings_meetings")
