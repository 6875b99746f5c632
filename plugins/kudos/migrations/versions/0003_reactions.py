"""Kudos given by a reaction: which reaction gave which kudos (a reaction removed withdraws it).

Revision ID: kudos_0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "kudos_0003"
down_revision: str | None = "kudos_0002"
branch_labels: tuple[str, ...] | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "kudos_reactions",
        sa.Column("reaction_id", sa.String(255), primary_key=True),
        sa.Column("kudos_id", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("kudos_reactions")
