"""Tables of the etherpad plugin: each meeting's pad (its lines wait in the core outbox)."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    metadata = MetaData()


class MeetingPad(Base):
    """A meeting this plugin follows, and the pad it writes to (from config, or set by a chair
    with ``#pad``); kept so a restart mid-meeting carries on."""

    __tablename__ = "etherpad_meeting_pads"

    meeting_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    network: Mapped[str] = mapped_column(String(64))
    room: Mapped[str] = mapped_column(String(255))
    meeting_name: Mapped[str] = mapped_column(String(255))
    chairs: Mapped[list[list[str | None]]] = mapped_column(JSON)
    server: Mapped[str | None] = mapped_column(String(64))
    pad: Mapped[str | None] = mapped_column(String(255))
    open: Mapped[bool] = mapped_column(Boolean, default=True)
