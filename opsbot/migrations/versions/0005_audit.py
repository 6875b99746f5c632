"""The audit trail of refusals that matter to bot admins (wrong link codes, self-kudos through a
linked account).

Revision ID: opsbot_0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsbot.storage import UTCDateTime

revision: str = "opsbot_0005"
down_revision: str | None = "opsbot_0004"
branch_labels: tuple[str, ...] | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "opsbot_audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ts", UTCDateTime(), nullable=False),
        sa.Column("who", sa.String(320), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("detail", sa.String(1024), nullable=False),
    )
    op.create_index("ix_opsbot_audit_ts", "opsbot_audit", ["ts"])


def downgrade() -> None:
    op.drop_index("ix_opsbot_audit_ts", "opsbot_audit")
    op.drop_table("opsbot_audit")
