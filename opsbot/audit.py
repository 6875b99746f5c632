"""The audit trail of refusals that matter to bot admins: wrong link codes, an account locked out
of linking, kudos refused because giver and receiver are one person. One row each in
``opsbot_audit`` (who, what, why), read with ``opsbot audit``; never shown in a room."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Integer, String, insert, select
from sqlalchemy.orm import Mapped, mapped_column

from .events import utcnow
from .state import OpsbotBase
from .storage import Storage, UTCDateTime

log = logging.getLogger("opsbot.audit")


class AuditRow(OpsbotBase):
    __tablename__ = "opsbot_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    who: Mapped[str] = mapped_column(String(320))
    """``network:account`` of the person who did it."""
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(String(1024))


class Audit:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def record(self, who: str, action: str, detail: str) -> None:
        """Keep one refusal; a database that is away costs the row, never the caller."""
        try:
            async with self.storage.session() as session, session.begin():
                await session.execute(
                    insert(AuditRow).values(
                        ts=utcnow(), who=who[:320], action=action[:64], detail=detail[:1024]
                    )
                )
        except Exception as error:
            log.warning("audit row not kept (%s): %s %s %s", error, who, action, detail)

    async def recent(self, limit: int = 50, who: str | None = None) -> Sequence[AuditRow]:
        """The newest rows first."""
        query = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
        if who is not None:
            query = query.where(AuditRow.who == who)
        async with self.storage.session() as session:
            return list(await session.scalars(query))
