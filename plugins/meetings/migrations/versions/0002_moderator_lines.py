"""Lines said by a room moderator who is not a chair, who may use chair commands.

Revision ID: meetings_0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "meetings_0002"
down_revision: str | None = "meetings_0001"
branch_labels: tuple[str, ...] | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("meetings_lines") as table:
        table.add_column(
            sa.Column("moderator", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("meetings_lines") as table:
        table.drop_column("moderator")
