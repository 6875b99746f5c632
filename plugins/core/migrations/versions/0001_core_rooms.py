"""Rooms the bot was asked to join at runtime.

Revision ID: core_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "core_0001"
down_revision: str | None = None
branch_labels: tuple[str, ...] | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "core_rooms",
        sa.Column("network", sa.String(64), primary_key=True),
        sa.Column("room", sa.String(255), primary_key=True),
        sa.Column("key", sa.String(255), nullable=True),
        sa.Column("joined_by", sa.String(255), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("core_rooms")
