"""The meetings the mail plugin follows, the mails it queued, people's addresses.

Revision ID: mail_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "mail_0001"
down_revision: str | None = None
branch_labels: tuple[str, ...] | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "mail_meetings",
        sa.Column("meeting_id", sa.Integer(), primary_key=True),
        sa.Column("network", sa.String(64), nullable=False),
        sa.Column("room", sa.String(255), nullable=False),
        sa.Column("meeting_name", sa.String(255), nullable=False),
        sa.Column("chairs", sa.JSON(), nullable=False),
        sa.Column("pad_url", sa.String(1024), nullable=True),
        sa.Column("recipients", sa.JSON(), nullable=True),
        sa.Column("off", sa.Boolean(), nullable=False),
        sa.Column("open", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "mail_sent",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("meeting_id", sa.Integer(), nullable=True),
        sa.Column("network", sa.String(64), nullable=False),
        sa.Column("room", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("message_id", sa.String(255), nullable=False),
        sa.Column("server", sa.String(64), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("bare", sa.Text(), nullable=True),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_mail_sent_room", "mail_sent", ["network", "room", "id"])
    op.create_table(
        "mail_addresses",
        sa.Column("network", sa.String(64), primary_key=True),
        sa.Column("account", sa.String(255), primary_key=True),
        sa.Column("address", sa.String(320), nullable=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pending", sa.String(320), nullable=True),
        sa.Column("code_hash", sa.String(128), nullable=True),
        sa.Column("code_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tries", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("mail_addresses")
    op.drop_index("ix_mail_sent_room", "mail_sent")
    op.drop_table("mail_sent")
    op.drop_table("mail_meetings")
