"""People nominated for a recognition rule by name, with an expiry and a comment (as the
OpenStack user committee kept its "extra AUCs").

Revision ID: records_0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsbot.storage import UTCDateTime

revision: str = "records_0004"
down_revision: str | None = "records_0003"
branch_labels: tuple[str, ...] | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "records_nominations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("network", sa.String(64), nullable=False),
        sa.Column("account", sa.String(255), nullable=False),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("until", sa.Date, nullable=False),
        sa.Column("why", sa.String(1024), nullable=False),
        sa.Column("by", sa.String(320), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("records_nominations")
