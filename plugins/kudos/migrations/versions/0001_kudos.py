"""Kudos, their audit trail, totals, people seen and opt-outs.

Revision ID: kudos_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "kudos_0001"
down_revision: str | None = None
branch_labels: tuple[str, ...] | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "kudos_kudos",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("network", sa.String(64), nullable=False),
        sa.Column("room", sa.String(255), nullable=False),
        sa.Column("giver_network", sa.String(64), nullable=False),
        sa.Column("giver_key", sa.String(255), nullable=False),
        sa.Column("giver_nick", sa.String(255), nullable=False),
        sa.Column("receiver_network", sa.String(64), nullable=False),
        sa.Column("receiver_key", sa.String(255), nullable=False),
        sa.Column("receiver_nick", sa.String(255), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
    )
    op.create_index("ix_kudos_receiver", "kudos_kudos", ["receiver_network", "receiver_key", "ts"])
    op.create_index("ix_kudos_ts", "kudos_kudos", ["ts"])
    op.create_index(
        "ix_kudos_category_ts",
        "kudos_kudos",
        ["category", "ts", "state", "receiver_network", "receiver_key", "receiver_nick"],
    )
    op.create_table(
        "kudos_totals",
        sa.Column("receiver_network", sa.String(64), primary_key=True),
        sa.Column("receiver_key", sa.String(255), primary_key=True),
        sa.Column("category", sa.String(64), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("nick", sa.String(255), nullable=False),
    )
    op.create_index("ix_kudos_totals_category_count", "kudos_totals", ["category", "count"])
    op.create_table(
        "kudos_audit",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("kudos_id", sa.Integer(), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(320), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
    )
    op.create_index("ix_kudos_audit_kudos_id", "kudos_audit", ["kudos_id"])
    op.create_table(
        "kudos_seen",
        sa.Column("network", sa.String(64), primary_key=True),
        sa.Column("nick", sa.String(255), primary_key=True),
        sa.Column("account", sa.String(255), nullable=True),
        sa.Column("display_nick", sa.String(255), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "kudos_optout",
        sa.Column("network", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
    )


def downgrade() -> None:
    for table in ("kudos_optout", "kudos_seen", "kudos_audit", "kudos_totals"):
        op.drop_table(table)
    op.drop_index("ix_kudos_category_ts", "kudos_kudos")
    op.drop_index("ix_kudos_ts", "kudos_kudos")
    op.drop_index("ix_kudos_receiver", "kudos_kudos")
    op.drop_table("kudos_kudos")
