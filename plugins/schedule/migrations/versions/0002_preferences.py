"""The digest's copy of opt-outs gives way to the bot's one place for people's preferences.

Revision ID: schedule_0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "schedule_0002"
down_revision: str | None = "schedule_0001"
branch_labels: tuple[str, ...] | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute(
        sa.text(
            "INSERT INTO opsbot_preferences (network, account, name, value, updated_at)"
            " SELECT o.network, o.key, 'leaderboards', 'hidden', CURRENT_TIMESTAMP"
            " FROM schedule_optouts o WHERE o.opted_out = :yes AND NOT EXISTS (SELECT 1 FROM"
            " opsbot_preferences p WHERE p.network = o.network AND p.account = o.key"
            " AND p.name = 'leaderboards')"
        ).bindparams(yes=True)
    )
    op.drop_table("schedule_optouts")


def downgrade() -> None:
    op.create_table(
        "schedule_optouts",
        sa.Column("network", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
    )
