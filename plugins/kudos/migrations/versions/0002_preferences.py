"""Opt-outs move to the bot's one place for people's preferences (``opsbot_preferences``).

Revision ID: kudos_0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "kudos_0002"
down_revision: str | None = "kudos_0001"
branch_labels: tuple[str, ...] | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute(
        sa.text(
            "INSERT INTO opsbot_preferences (network, account, name, value, updated_at)"
            " SELECT o.network, o.key, 'leaderboards', 'hidden', CURRENT_TIMESTAMP"
            " FROM kudos_optout o WHERE NOT EXISTS (SELECT 1 FROM opsbot_preferences p"
            " WHERE p.network = o.network AND p.account = o.key AND p.name = 'leaderboards')"
        )
    )
    op.drop_table("kudos_optout")


def downgrade() -> None:
    op.create_table(
        "kudos_optout",
        sa.Column("network", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
    )
