"""Entries from restricted meetings are marked private: counted, never shown publicly.

Revision ID: records_0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "records_0003"
down_revision: str | None = "records_0002"
branch_labels: tuple[str, ...] | None = None
depends_on: str | None = None


def upgrade() -> None:
    # A plain ADD COLUMN (SQLite takes one with a constant default): a batch copy of the table
    # would lose its WITHOUT ROWID layout.
    op.add_column(
        "records_entries",
        sa.Column("private", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    with op.batch_alter_table("records_entries", recreate="never") as table:
        table.drop_column("private")
