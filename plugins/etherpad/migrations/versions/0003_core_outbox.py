"""The pad lines move to the core outbox (``opsbot_outbox``, channel ``etherpad``), keeping
their IDs: the markers already written in pads are those IDs, so later edits still find them.

Revision ID: etherpad_0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "etherpad_0003"
down_revision: str | None = "etherpad_0002"
branch_labels: tuple[str, ...] | None = None
depends_on: str | None = None


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT id, server, pad, text, network, room, state, attempts, last_error,"
            " created_at, done_at, meeting_id, item_seq, replaces FROM etherpad_outbox"
            " ORDER BY id"
        )
    ).mappings()
    insert = sa.text(
        "INSERT INTO opsbot_outbox (id, channel, target, key, ref, payload, state, attempts,"
        " last_error, created_at, expires_at, done_at) VALUES (:id, 'etherpad', :target, NULL,"
        " :ref, :payload, :state, :attempts, :last_error, :created_at, NULL, :done_at)"
    ).bindparams(sa.bindparam("payload", type_=sa.JSON()))
    for row in rows:
        payload = {
            "server": row["server"], "pad": row["pad"], "text": row["text"],
            "network": row["network"], "room": row["room"], "replaces": row["replaces"],
        }  # fmt: skip
        ref = None if row["meeting_id"] is None else f"{row['meeting_id']}:{row['item_seq']}"
        bind.execute(
            insert,
            {
                "id": row["id"], "target": f"{row['server']}\n{row['pad']}", "ref": ref,
                "payload": payload, "state": row["state"], "attempts": row["attempts"],
                "last_error": row["last_error"], "created_at": row["created_at"],
                "done_at": row["done_at"],
            },
        )  # fmt: skip
    if bind.dialect.name == "postgresql":
        bind.execute(
            sa.text(
                "SELECT setval(pg_get_serial_sequence('opsbot_outbox', 'id'),"
                " GREATEST((SELECT COALESCE(MAX(id), 0) FROM opsbot_outbox), 1))"
            )
        )
    op.drop_table("etherpad_outbox")


def downgrade() -> None:
    raise NotImplementedError("the pad lines stay in the core outbox")
