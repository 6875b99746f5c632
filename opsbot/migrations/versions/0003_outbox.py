"""The core durable outbox (every delivery outside the bot, stored before it is attempted).

Revision ID: opsbot_0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsbot.storage import UTCDateTime

revision: str = "opsbot_0003"
down_revision: str | None = "opsbot_0002"
branch_labels: tuple[str, ...] | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "opsbot_outbox",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("target", sa.String(512), nullable=False),
        sa.Column("key", sa.String(255), nullable=True),
        sa.Column("ref", sa.String(128), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("done_at", UTCDateTime(), nullable=True),
    )
    op.create_index(
        "ix_opsbot_outbox_waiting", "opsbot_outbox", ["channel", "state", "target", "id"]
    )
    op.create_index("ix_opsbot_outbox_ref", "opsbot_outbox", ["channel", "ref"])
    op.create_index("ux_opsbot_outbox_key", "opsbot_outbox", ["channel", "key"], unique=True)


def downgrade() -> None:
    op.drop_table("opsbot_outbox")
