"""The settings a meeting started with (prefixes, duration, file pattern, links), kept with it
so resume, replay and regenerate read its lines as they were read when said.

Revision ID: meetings_0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "meetings_0004"
down_revision: str | None = "meetings_0003"
branch_labels: tuple[str, ...] | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("meetings_meetings") as table:
        table.add_column(sa.Column("settings", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("meetings_meetings") as table:
        table.drop_column("settings")
