"""Tables of the core plugin: rooms joined at runtime, so ``!join`` outlives a restart."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from opsbot.storage import UTCDateTime


class Base(DeclarativeBase):
    metadata = MetaData()


class JoinedRoom(Base):
    __tablename__ = "core_rooms"

    network: Mapped[str] = mapped_column(String(64), primary_key=True)
    room: Mapped[str] = mapped_column(String(255), primary_key=True)
    key: Mapped[str | None] = mapped_column(String(255))
    joined_by: Mapped[str] = mapped_column(String(255))
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)
