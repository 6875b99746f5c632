"""The ledger kept in person order (SQLite: a table without rowid, clustered on its primary key),
so a person's record and the export read neighbouring pages instead of one page per entry; and an
index on the source, so withdrawing a kudos finds its entry without reading the whole ledger.

Revision ID: records_0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "records_0002"
down_revision: str | None = "records_0001"
branch_labels: tuple[str, ...] | None = None
depends_on: str | None = None

COLUMNS = "id, ts, network, account, nick, kind, meeting, category, count, source, link, withdrawn"


def upgrade() -> None:
    op.create_table(
        "records_entries_new",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("network", sa.String(64), nullable=False),
        sa.Column("account", sa.String(255), nullable=False),
        sa.Column("nick", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("meeting", sa.String(255), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("link", sa.String(1024), nullable=False),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("network", "account", "ts", "id", name="pk_records_entries"),
        sqlite_with_rowid=False,
    )
    op.execute(f"INSERT INTO records_entries_new ({COLUMNS}) SELECT {COLUMNS} FROM records_entries")
    op.drop_index("ix_records_entries_person", "records_entries")
    op.drop_table("records_entries")
    op.rename_table("records_entries_new", "records_entries")
    op.create_index("ix_records_entries_source", "records_entries", ["source"])


def downgrade() -> None:
    op.drop_index("ix_records_entries_source", "records_entries")
    op.create_table(
        "records_entries_old",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("network", sa.String(64), nullable=False),
        sa.Column("account", sa.String(255), nullable=False),
        sa.Column("nick", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("meeting", sa.String(255), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("link", sa.String(1024), nullable=False),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
    )
    op.execute(f"INSERT INTO records_entries_old ({COLUMNS}) SELECT {COLUMNS} FROM records_entries")
    op.drop_table("records_entries")
    op.rename_table("records_entries_old", "records_entries")
    op.create_index("ix_records_entries_person", "records_entries", ["network", "account", "ts"])
