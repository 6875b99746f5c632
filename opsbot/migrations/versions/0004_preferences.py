"""People's preferences, in one place for every plugin (leaving the public leaderboards, ...).

Revision ID: opsbot_0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsbot.storage import UTCDateTime

revision: str = "opsbot_0004"
down_revision: str | None = "opsbot_0003"
branch_labels: tuple[str, ...] | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "opsbot_preferences",
        sa.Column("network", sa.String(64), primary_key=True),
        sa.Column("account", sa.String(255), primary_key=True),
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(255), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("opsbot_preferences")
