"""The bot's own small durable state: a network's sync token and device ID, and the like.

Revision ID: opsbot_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "opsbot_0001"
down_revision: str | None = None
branch_labels: tuple[str, ...] | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "opsbot_state",
        sa.Column("scope", sa.String(128), primary_key=True),
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("opsbot_state")
