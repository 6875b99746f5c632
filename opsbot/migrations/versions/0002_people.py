"""People and their linked identities (an IRC account and a Matrix ID proved to be one person).

Revision ID: opsbot_0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "opsbot_0002"
down_revision: str | None = "opsbot_0001"
branch_labels: tuple[str, ...] | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "opsbot_identities",
        sa.Column("network", sa.String(64), primary_key=True),
        sa.Column("account", sa.String(255), primary_key=True),
        sa.Column("person", sa.Integer(), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("linked_by", sa.String(320), nullable=False),
    )
    op.create_index("ix_opsbot_identities_person", "opsbot_identities", ["person"])


def downgrade() -> None:
    op.drop_index("ix_opsbot_identities_person", "opsbot_identities")
    op.drop_table("opsbot_identities")
