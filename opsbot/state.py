"""Small durable state of the bot's own parts, such as a Matrix network's sync token and device
ID, kept in the ``opsbot_state`` table (migrated as ``opsbot`` before any plugin's tables)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import MetaData, String, Text, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .events import utcnow
from .storage import Storage, UTCDateTime

MIGRATIONS = str(Path(__file__).parent / "migrations" / "versions")
"""The versions folder of the bot's own tables."""


class OpsbotBase(DeclarativeBase):
    """The bot's own tables (migrated as ``opsbot``)."""

    metadata = MetaData()


class StateRow(OpsbotBase):
    __tablename__ = "opsbot_state"

    scope: Mapped[str] = mapped_column(String(128), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class State:
    """Key/value strings under one scope (``network:matrix``), written together atomically."""

    def __init__(self, storage: Storage, scope: str) -> None:
        self.storage = storage
        self.scope = scope

    async def load(self) -> dict[str, str]:
        async with self.storage.session() as session:
            rows = await session.scalars(select(StateRow).where(StateRow.scope == self.scope))
            return {row.key: row.value for row in rows}

    async def save(self, values: dict[str, str]) -> None:
        """Store every pair in one transaction: a reader sees all of them or none."""
        now = utcnow()
        async with self.storage.session() as session, session.begin():
            for key, value in values.items():
                await session.merge(
                    StateRow(scope=self.scope, key=key, value=value, updated_at=now)
                )


async def put_state(conn: AsyncConnection, scope: str, key: str, value: str) -> None:
    """Set one value inside a transaction someone else holds (a group commit's batch)."""
    upsert = (postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert)(StateRow)
    await conn.execute(
        upsert.values(scope=scope, key=key, value=value, updated_at=utcnow()).on_conflict_do_update(
            index_elements=["scope", "key"],
            set_={"value": upsert.excluded.value, "updated_at": upsert.excluded.updated_at},
        )
    )
